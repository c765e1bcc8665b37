/** The app's one tracker, sending to the interactions API. */
import { postInteractions } from '@/api/interactions'

import { createTracker } from './tracker'

export const tracker = createTracker({ send: (events, options) => postInteractions(events, options) })
