/** Prices: decimal strings from the API, shown with Intl.NumberFormat in the product's currency. */

const formatters = new Map<string, Intl.NumberFormat>()

export function formatPrice(amount: string | number, currency: string, locale?: string): string {
  const key = `${locale ?? ''}|${currency}`
  let formatter = formatters.get(key)
  if (!formatter) {
    try {
      formatter = new Intl.NumberFormat(locale, { style: 'currency', currency })
    } catch {
      formatter = new Intl.NumberFormat(locale, { minimumFractionDigits: 2, maximumFractionDigits: 2 })
    }
    formatters.set(key, formatter)
  }
  const value = typeof amount === 'number' ? amount : Number.parseFloat(amount)
  return formatter.format(Number.isFinite(value) ? value : 0)
}

/** Whole cents, so sums of prices never drift (0.1 + 0.2). */
export function toCents(amount: string | number): number {
  const value = typeof amount === 'number' ? amount : Number.parseFloat(amount)
  return Number.isFinite(value) ? Math.round(value * 100) : 0
}

export function fromCents(cents: number): string {
  return (cents / 100).toFixed(2)
}
