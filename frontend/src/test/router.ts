/** A memory-history router with the app's route names, for mounting components in unit specs. */
import { createMemoryHistory, createRouter } from 'vue-router'

import { routes } from '@/router'

export function testRouter() {
  return createRouter({ history: createMemoryHistory(), routes })
}
