#!/usr/bin/env node
/**
 * Impressions in a real browser: only the carousels a shopper actually saw are recorded, once per
 * list, and a click carries the list's experiment and variant. Driven by
 * frontend/e2e/test_experiment_impressions.py, which checks the database at each checkpoint.
 *
 *   node e2e/experiment_impressions.mjs --base-url URL --report FILE [--screenshots DIR] [--checkpoints]
 *
 * With --checkpoints the script stops at each checkpoint: it prints one line
 * `CHECKPOINT {"name": ..., "data": {...}}` and waits for a line on stdin: `continue` goes on,
 * anything else (or stdin closing) ends the run as failed. Without it, it runs straight through.
 *
 * 1. fold:     home page in a viewport where "Recommended for you" (home_for_you) is on screen and
 *              "Trending now" (home_trending) shows less than half of itself; wait well past the
 *              dwell and the batch delay without scrolling.
 * 2. scrolled: scroll "Trending now" into view for more than a second (its impression goes out);
 *              scroll away and back (nothing more goes out).
 * 3. reloaded: reload the home page: a new list (request id) and a new impression.
 * 4. clicked:  click a card of "Recommended for you": a click event with the list's attribution.
 *
 * Every POST to /api/impressions/ and /api/interactions/ is captured (body, CSRF header, status)
 * and every list response (request id, experiment, variant), so the caller can compare them with
 * the rows. Exits non-zero when a step fails.
 */
import path from 'node:path'
import { createInterface } from 'node:readline'
import { parseArgs } from 'node:util'

import { runInBrowser } from './storefront.mjs'

/** Wide enough for 4 cards a row (12 in the list), low enough that the second carousel peeks in. */
export const VIEWPORT = { width: 1024, height: 1150 }
const SEEN = 'home_for_you'
const UNSEEN = 'home_trending'
/** What the storefront waits: one second on screen, then up to a second in the batch queue. */
const DWELL_MS = 1000
const BATCH_MS = 1000
/** How long "not recorded" is given to prove itself: well past the dwell plus the batch delay. */
const QUIET_MS = DWELL_MS + BATCH_MS + 1500
const STEP_TIMEOUT = 15_000

const { values: args } = parseArgs({
  options: {
    'base-url': { type: 'string' },
    report: { type: 'string' },
    screenshots: { type: 'string' },
    chromium: { type: 'string', default: process.env.CHROMIUM_PATH || '/usr/bin/chromium' },
    checkpoints: { type: 'boolean', default: false },
  },
})
if (!args['base-url'] || !args.report) {
  console.error('usage: experiment_impressions.mjs --base-url URL --report FILE [--screenshots DIR] [--checkpoints]')
  process.exit(2)
}
const baseUrl = args['base-url'].replace(/\/$/, '')
const report = {
  base_url: baseUrl,
  viewport: VIEWPORT,
  steps: [],
  checkpoints: {},
  lists: [],
  impression_posts: [],
  interaction_posts: [],
  screenshots: [],
  console_errors: [],
}

function step(name) {
  report.steps.push(name)
  console.log(`e2e: ${name}`)
}

const stdinLines = args.checkpoints ? createInterface({ input: process.stdin })[Symbol.asyncIterator]() : null

/** Hand the caller what the page looks like now and wait for its go-ahead (it checks the database meanwhile). */
async function checkpoint(name, data) {
  report.checkpoints[name] = data
  if (!stdinLines) return
  console.log(`CHECKPOINT ${JSON.stringify({ name, data })}`)
  const { value, done } = await stdinLines.next()
  if (done || value.trim() !== 'continue') throw new Error(`the test stopped the run at checkpoint ${name}: ${done ? '(stdin closed)' : value.trim()}`)
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

/** Record, inside the page, when each carousel first shows a list (its data-request-id appears). */
function watchListsShown() {
  window.__listsShown = {}
  const note = () => {
    for (const section of document.querySelectorAll('section.carousel[data-request-id]')) {
      const key = `${section.dataset.placement}:${section.dataset.requestId}`
      if (!(key in window.__listsShown)) window.__listsShown[key] = Date.now()
    }
  }
  new MutationObserver(note).observe(document, { subtree: true, childList: true, attributes: true, attributeFilter: ['data-request-id'] })
}

/** Where a carousel is and what it shows: its share on screen, its list and the cards at least half inside its row. */
function carouselState(placement) {
  const section = document.querySelector(`section.carousel[data-placement="${placement}"]`)
  if (!section) return null
  const rect = section.getBoundingClientRect()
  const onScreen = Math.max(0, Math.min(rect.bottom, window.innerHeight) - Math.max(rect.top, 0))
  const row = section.querySelector('.carousel__track')
  const bounds = row?.getBoundingClientRect()
  const cards = Array.from(section.querySelectorAll('[data-index]'))
  const shown = cards
    .filter((card) => {
      const box = card.getBoundingClientRect()
      const inside = Math.min(box.right, bounds.right) - Math.max(box.left, bounds.left)
      return box.width > 0 && inside / box.width >= 0.5
    })
    .map((card) => Number(card.dataset.index))
  const requestId = section.dataset.requestId ?? null
  return {
    placement,
    request_id: requestId,
    shown_at: requestId ? (window.__listsShown?.[`${placement}:${requestId}`] ?? null) : null,
    visible_ratio: rect.height > 0 ? onScreen / rect.height : 0,
    top: rect.top,
    bottom: rect.bottom,
    viewport_height: window.innerHeight,
    scroll_y: window.scrollY,
    cards: cards.length,
    shown_positions: shown,
    product_ids: cards.map((card) => decodeURIComponent(card.querySelector('a')?.getAttribute('href')?.split('/').pop() ?? '')),
  }
}

async function state(page, placement) {
  return page.evaluate(carouselState, placement)
}

async function screenshot(page, name) {
  if (!args.screenshots) return
  const file = path.join(args.screenshots, `${name}.png`)
  await page.screenshot({ path: file })
  report.screenshots.push(file)
}

/** Capture what the page sends and receives: impressions, interactions, lists. */
function capture(page) {
  const inFlight = new Map() // request -> its report entry
  page.on('request', (request) => {
    const url = new URL(request.url())
    if (request.method() !== 'POST' || !['/api/impressions/', '/api/interactions/'].includes(url.pathname)) return
    const entry = {
      at: Date.now(),
      page_url: page.url(),
      csrf_header: request.headers()['x-csrftoken'] ?? null,
      events: JSON.parse(request.postData() ?? '[]'),
      status: null,
    }
    ;(url.pathname === '/api/impressions/' ? report.impression_posts : report.interaction_posts).push(entry)
    inFlight.set(request, entry)
  })
  const finish = async (request, failed) => {
    const entry = inFlight.get(request)
    if (!entry) return
    entry.status = failed ? `failed: ${request.failure()?.errorText}` : ((await request.response())?.status() ?? null)
    inFlight.delete(request)
  }
  page.on('requestfinished', (request) => void finish(request, false))
  page.on('requestfailed', (request) => void finish(request, true))
  page.on('response', async (response) => {
    const url = new URL(response.url())
    if (!url.pathname.startsWith('/api/recommendations/') || response.request().method() !== 'GET') return
    try {
      const body = await response.json()
      report.lists.push({
        path: url.pathname,
        placement: url.searchParams.get('placement'),
        status: response.status(),
        request_id: body.request_id,
        experiment: body.experiment,
        variant: body.variant,
        strategy: body.strategy,
        model_version: body.model_version,
        source: body.source,
        product_ids: (body.results ?? []).map((item) => item.product_id),
      })
    } catch {
      // an aborted or non-JSON response: the page ignores it too
    }
  })
  return {
    /** Resolve once no captured POST is on its way (after giving just-queued ones a moment to start). */
    async settled() {
      await sleep(100)
      const deadline = Date.now() + STEP_TIMEOUT
      while (inFlight.size && Date.now() < deadline) await sleep(50)
      await sleep(50) // let the `requestfinished` handlers write the statuses
    },
  }
}

/** Wait until an impression of the list has been posted and answered. */
async function waitForImpressionOf(requestId) {
  const deadline = Date.now() + STEP_TIMEOUT
  const answered = () => report.impression_posts.some((post) => post.status !== null && post.events.some((event) => event.request_id === requestId))
  while (!answered()) {
    if (Date.now() > deadline) throw new Error(`no impression of list ${requestId} was posted within ${STEP_TIMEOUT} ms`)
    await sleep(25)
  }
}

/** Make the storefront send what it has queued now (its queues flush on pagehide), then wait for the requests. */
async function flush(page, network) {
  await page.evaluate(() => window.dispatchEvent(new Event('pagehide')))
  await network.settled()
}

async function scrollTo(page, y) {
  return page.evaluate((top) => {
    window.scrollTo({ top, behavior: 'instant' })
    return Date.now()
  }, y)
}

async function sectionTop(page, placement) {
  return page.evaluate((name) => {
    const rect = document.querySelector(`section.carousel[data-placement="${name}"]`).getBoundingClientRect()
    return Math.max(0, window.scrollY + rect.top - (window.innerHeight - rect.height) / 2)
  }, placement)
}

async function homeLoaded(page) {
  for (const placement of [SEEN, UNSEEN]) {
    await page.locator(`section.carousel[data-placement="${placement}"][data-request-id] [data-index]`).first().waitFor()
  }
  await page.waitForLoadState('load')
}

async function run(browser) {
  const context = await browser.newContext({ viewport: VIEWPORT, deviceScaleFactor: 1, locale: 'en-US', timezoneId: 'UTC' })
  await context.addInitScript(watchListsShown)
  const page = await context.newPage()
  page.setDefaultTimeout(STEP_TIMEOUT)
  page.on('console', (message) => {
    if (message.type() === 'error') report.console_errors.push({ url: page.url(), text: message.text() })
  })
  page.on('pageerror', (error) => report.console_errors.push({ url: page.url(), text: String(error) }))
  const network = capture(page)
  const cookies = async () => Object.fromEntries((await context.cookies()).map((cookie) => [cookie.name, cookie.value]))

  step('fold: open the home page and stay at the top')
  await page.goto(`${baseUrl}/`)
  await homeLoaded(page)
  const seen = await state(page, SEEN)
  await waitForImpressionOf(seen.request_id)
  await sleep(QUIET_MS - DWELL_MS) // the other carousel has had far longer than its dwell and the batch delay
  await flush(page, network)
  await screenshot(page, 'impressions-fold')
  await checkpoint('fold', {
    seen: await state(page, SEEN),
    unseen: await state(page, UNSEEN),
    cookies: await cookies(),
    impression_posts: report.impression_posts,
    lists: report.lists,
  })

  step('scrolled: bring "Trending now" into view for more than a second')
  const unseenBefore = await state(page, UNSEEN)
  const scrolledAt = await scrollTo(page, await sectionTop(page, UNSEEN))
  const unseenInView = await state(page, UNSEEN)
  await waitForImpressionOf(unseenBefore.request_id)
  const recordedAfterMs = Date.now() - scrolledAt
  await screenshot(page, 'impressions-scrolled')

  step('scroll away and back: both carousels on screen again for more than a second')
  await scrollTo(page, 0)
  await sleep(DWELL_MS + 300) // "Recommended for you" is back in view: recorded already
  await scrollTo(page, await sectionTop(page, UNSEEN))
  await sleep(DWELL_MS + BATCH_MS + 500)
  await flush(page, network)
  await checkpoint('scrolled', {
    scrolled_at: scrolledAt,
    recorded_after_ms: recordedAfterMs,
    unseen_in_view: unseenInView,
    seen: await state(page, SEEN),
    unseen: await state(page, UNSEEN),
    impression_posts: report.impression_posts,
  })

  step('reloaded: reload the home page at the top')
  await scrollTo(page, 0)
  await page.reload()
  await homeLoaded(page)
  const reloaded = await state(page, SEEN)
  await waitForImpressionOf(reloaded.request_id)
  await sleep(QUIET_MS - DWELL_MS)
  await flush(page, network)
  await checkpoint('reloaded', {
    seen: await state(page, SEEN),
    unseen: await state(page, UNSEEN),
    cookies: await cookies(),
    impression_posts: report.impression_posts,
    lists: report.lists,
  })

  step('clicked: follow the second card of "Recommended for you"')
  const position = 1
  const card = page.locator(`section.carousel[data-placement="${SEEN}"] [data-index="${position}"] .product-card__link`)
  const clickPosted = page.waitForResponse(
    (response) => new URL(response.url()).pathname === '/api/interactions/' && (response.request().postData() ?? '').includes('"click"'),
    { timeout: STEP_TIMEOUT },
  )
  await card.click()
  await page.waitForURL(/\/products\//)
  const clickResponse = await clickPosted
  await network.settled()
  await checkpoint('clicked', {
    position,
    request_id: reloaded.request_id,
    product_id: decodeURIComponent(new URL(page.url()).pathname.split('/').filter(Boolean).pop()),
    click_status: clickResponse.status(),
    interaction_posts: report.interaction_posts,
  })
  await context.close()
}

await runInBrowser({
  chromiumPath: args.chromium,
  screenshots: args.screenshots,
  reportPath: args.report,
  report,
  drive: async (browser) => {
    await run(browser)
    step('done')
  },
})
