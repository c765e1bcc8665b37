#!/usr/bin/env node
/**
 * Drive the storefront in Debian's chromium (playwright-core, no browser download) against a
 * running Django server, and write what happened to a JSON report for the caller to check
 * against the database (frontend/e2e/test_storefront.py does).
 *
 *   node e2e/storefront.mjs --base-url http://127.0.0.1:8000 --report out.json [--screenshots DIR]
 *
 * 1. The shopper's journey (desktop): home -> carousels show products -> open a product ->
 *    similar products shown -> arrow keys move through that carousel -> follow a similar product ->
 *    add it to the cart -> checkout -> confirmation with an order number.
 * 2. Screenshots of home, catalog, product and cart at desktop (1366x900) and phone (390x844).
 * 3. axe-core on the main pages at both widths; every violation goes in the report.
 *
 * Exits non-zero when a step fails (the report then says which), so a broken page fails loudly.
 * Imported (by experiment_impressions.mjs, for CHROMIUM_ARGS) it runs nothing.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { parseArgs } from 'node:util'

import { chromium } from 'playwright-core'

const require = createRequire(import.meta.url)

export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]
export const VIEWPORTS = {
  desktop: { width: 1366, height: 900 },
  phone: { width: 390, height: 844 },
}
const STEP_TIMEOUT = 20_000

/** Run as a script (not imported by another e2e script for its helpers). */
const isMain = process.argv[1] !== undefined && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href

const { values: args } = isMain
  ? parseArgs({
      options: {
        'base-url': { type: 'string' },
        report: { type: 'string' },
        screenshots: { type: 'string' },
        chromium: { type: 'string', default: process.env.CHROMIUM_PATH || '/usr/bin/chromium' },
      },
    })
  : { values: {} }
if (isMain && (!args['base-url'] || !args.report)) {
  console.error('usage: storefront.mjs --base-url URL --report FILE [--screenshots DIR]')
  process.exit(2)
}
const baseUrl = (args['base-url'] ?? '').replace(/\/$/, '')
const report = { base_url: baseUrl, steps: [], journey: {}, screenshots: [], accessibility: [], console_errors: [] }

function step(name) {
  report.steps.push(name)
  console.log(`e2e: ${name}`)
}

/** Scroll through the page so lazy images load, then come back to the top. */
async function settle(page) {
  await page.evaluate(async () => {
    const pause = () => new Promise((resolve) => setTimeout(resolve, 60))
    for (let y = 0; y < document.body.scrollHeight; y += window.innerHeight / 2) {
      window.scrollTo(0, y)
      await pause()
    }
    window.scrollTo(0, 0)
  })
  await page.waitForLoadState('networkidle')
  await page.evaluate(async () => {
    await Promise.all(
      Array.from(document.images)
        .filter((image) => !image.complete)
        .map((image) => new Promise((resolve) => image.addEventListener('load', resolve, { once: true }) || setTimeout(resolve, 3000))),
    )
  })
}

function carousel(page, title) {
  return page.locator('section.carousel').filter({ has: page.getByRole('heading', { name: title, exact: true }) })
}

function productIdFromUrl(url) {
  return decodeURIComponent(new URL(url).pathname.split('/').filter(Boolean).pop())
}

async function newPage(browser, viewport) {
  const context = await browser.newContext({ viewport, deviceScaleFactor: 1, locale: 'en-US', timezoneId: 'UTC' })
  const page = await context.newPage()
  page.setDefaultTimeout(STEP_TIMEOUT)
  page.on('console', (message) => {
    if (message.type() === 'error') report.console_errors.push({ url: page.url(), text: message.text() })
  })
  page.on('pageerror', (error) => report.console_errors.push({ url: page.url(), text: String(error) }))
  return { context, page }
}

async function journey(browser) {
  const { context, page } = await newPage(browser, VIEWPORTS.desktop)
  const data = report.journey

  step('open the home page')
  await page.goto(`${baseUrl}/`)
  await page.getByRole('heading', { level: 1 }).waitFor()
  const trending = carousel(page, 'Trending now')
  await trending.locator('.product-card').first().waitFor()
  const forYou = carousel(page, 'Recommended for you')
  // Each carousel loads on its own: counting for-you once trending shows raced its request.
  await forYou.locator('.product-card').first().waitFor()
  data.home_carousels = {
    trending: await trending.locator('.product-card').count(),
    for_you: await forYou.locator('.product-card').count(),
  }
  data.home_first_reason = (await trending.locator('.product-card__reason').first().textContent())?.trim()

  step('open a product from the trending carousel')
  await trending.locator('.product-card__link').first().click()
  await page.waitForURL(/\/products\//)
  data.first_product = productIdFromUrl(page.url())
  await page.locator('.product__title').waitFor()

  step('similar products are shown')
  const similar = carousel(page, 'Similar products')
  await similar.locator('.product-card').first().waitFor()
  data.similar_count = await similar.locator('.product-card').count()
  data.similar_reasons = (await similar.locator('.product-card__reason').allTextContents()).map((text) => text.trim())

  step('customers also bought is shown')
  // Its list loads on its own request: count the cards once they are there, not a carousel still loading.
  const alsoBought = carousel(page, 'Customers also bought')
  await alsoBought.locator('.product-card').first().waitFor()
  data.also_bought_count = await alsoBought.locator('.product-card').count()

  step('the arrow keys move through the carousel')
  const links = similar.locator('.product-card__link')
  await links.first().focus()
  await page.keyboard.press('ArrowRight')
  data.focus_after_arrow = await page.evaluate(() => document.activeElement?.closest('[data-index]')?.getAttribute('data-index'))
  data.tabbable_cards = await similar.locator('.product-card__link[tabindex="0"]').count()

  step('follow a similar product')
  const position = Number(data.focus_after_arrow ?? 1)
  await page.keyboard.press('Enter')
  await page.waitForURL((url) => !url.pathname.endsWith(`/${data.first_product}`))
  data.followed = { product_id: productIdFromUrl(page.url()), placement: 'product_similar', position }
  await page.locator(`.product[data-product-id="${data.followed.product_id}"] .product__title`).waitFor()
  data.followed_title = (await page.locator('.product__title').textContent())?.trim()
  data.followed_price = (await page.getByTestId('product-price').textContent())?.trim()

  step('add it to the cart')
  await page.getByRole('button', { name: 'Add to cart' }).click()
  await page.getByRole('status').filter({ hasText: 'Added 1 to your cart' }).waitFor()
  data.cart_count_after_add = (await page.getByTestId('cart-count').textContent())?.trim()

  step('check out')
  await page.getByTestId('cart-link').click()
  await page.waitForURL(/\/cart$/)
  await page.locator(`.cart-line[data-product-id="${data.followed.product_id}"]`).waitFor()
  data.cart_total = (await page.getByTestId('cart-total').textContent())?.trim()
  await page.getByRole('button', { name: 'Place order' }).click()
  await page.waitForURL(/\/orders\//)
  data.order_number = (await page.getByTestId('order-number').textContent())?.trim()
  data.order_total = (await page.getByTestId('order-total').textContent())?.trim()
  data.cart_count_after_order = (await page.getByTestId('cart-count').textContent())?.trim()
  await settle(page)
  if (args.screenshots) {
    const file = path.join(args.screenshots, 'order-desktop.png')
    await page.screenshot({ path: file, fullPage: true })
    report.screenshots.push(file)
  }
  await checkAccessibility(page, 'order', 'desktop')

  step('search from the header; the URL keeps the catalog state across a reload')
  await page.getByRole('searchbox', { name: 'Search products' }).fill('headphones')
  await page.getByRole('searchbox', { name: 'Search products' }).press('Enter')
  await page.waitForURL(/\/catalog\?q=headphones/)
  await page.locator('.product-grid .product-card').first().waitFor()
  await page.getByLabel('Sort by').selectOption('price')
  await page.waitForURL(/sort=price/)
  await page.reload()
  await page.locator('.product-grid .product-card').first().waitFor()
  data.search = {
    url: new URL(page.url()).search,
    heading: (await page.getByRole('heading', { level: 1 }).textContent())?.trim(),
    sort: await page.getByLabel('Sort by').inputValue(),
    results: await page.locator('.product-grid .product-card').count(),
    prices: (await page.locator('.product-grid .product-card__price').allTextContents()).map((text) => Number(text.replace(/[^0-9.]/g, ''))),
  }
  await context.close()
}

async function checkAccessibility(page, name, viewportName) {
  const axeSource = await readFile(require.resolve('axe-core/axe.min.js'), 'utf8')
  await page.addScriptTag({ content: axeSource })
  const result = await page.evaluate(async () => {
    // eslint-disable-next-line no-undef
    const outcome = await axe.run(document, { resultTypes: ['violations'] })
    return outcome.violations.map((violation) => ({
      id: violation.id,
      impact: violation.impact,
      help: violation.help,
      nodes: violation.nodes.slice(0, 5).map((node) => node.target.join(' ')),
    }))
  })
  for (const violation of result) report.accessibility.push({ page: name, viewport: viewportName, ...violation })
}

async function pagesAtWidth(browser, viewportName) {
  const { context, page } = await newPage(browser, VIEWPORTS[viewportName])
  const shots = args.screenshots
  const visit = async (name, url, ready) => {
    step(`${viewportName}: ${name}`)
    await page.goto(`${baseUrl}${url}`)
    await ready()
    await settle(page)
    if (shots) {
      const file = path.join(shots, `${name}-${viewportName}.png`)
      await page.screenshot({ path: file, fullPage: true })
      report.screenshots.push(file)
    }
    await checkAccessibility(page, name, viewportName)
  }

  await visit('home', '/', () => carousel(page, 'Trending now').locator('.product-card').first().waitFor())
  await visit('catalog', '/catalog?sort=popularity', () => page.locator('.product-grid .product-card').first().waitFor())
  const productId = report.journey.first_product ?? 'P00001'
  await visit('product', `/products/${encodeURIComponent(productId)}`, async () => {
    await page.locator('.product__title').waitFor()
    await carousel(page, 'Similar products').locator('.product-card').first().waitFor()
  })
  await page.getByRole('button', { name: 'Add to cart' }).click()
  await page.getByRole('status').filter({ hasText: 'Added' }).waitFor()
  await visit('cart', '/cart', () => page.locator('.cart-line').first().waitFor())
  await context.close()
}

/**
 * Launch Debian's chromium, run `drive(browser)`, and always write the report: an error is
 * recorded in it (and the exit status is 1), so the Python test can say which step failed.
 */
export async function runInBrowser({ chromiumPath, screenshots, reportPath, report, drive }) {
  let browser
  let failed = false
  try {
    if (screenshots) await mkdir(screenshots, { recursive: true })
    browser = await chromium.launch({ executablePath: chromiumPath, args: CHROMIUM_ARGS, headless: true })
    await drive(browser)
  } catch (error) {
    failed = true
    report.error = String(error?.stack ?? error)
    console.error(error)
  } finally {
    await browser?.close()
    await writeFile(reportPath, JSON.stringify(report, null, 2))
  }
  process.exit(failed ? 1 : 0)
}

async function main() {
  await runInBrowser({
    chromiumPath: args.chromium,
    screenshots: args.screenshots,
    reportPath: args.report,
    report,
    drive: async (browser) => {
      await journey(browser)
      await pagesAtWidth(browser, 'desktop')
      await pagesAtWidth(browser, 'phone')
      step('done')
    },
  })
}

if (isMain) await main()
