/** The app's event queues: interactions (through the tracker) and carousel impressions. */
import { postImpressions } from '@/api/impressions'
import { postInteractions } from '@/api/interactions'
import type { ImpressionEvent } from '@/api/types'

import { createBatchQueue } from './batchQueue'
import { createTracker } from './tracker'

export const tracker = createTracker({ send: (events, options) => postInteractions(events, options) })

export const impressionQueue = createBatchQueue<ImpressionEvent>({ send: (events, options) => postImpressions(events, options) })
