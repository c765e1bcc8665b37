import { describe, expect, it } from 'vitest'

import { formatPrice, fromCents, toCents } from './money'

describe('money', () => {
  it('formats decimal strings in the given currency', () => {
    expect(formatPrice('2829.99', 'USD', 'en-US')).toBe('$2,829.99')
    expect(formatPrice('19.5', 'EUR', 'de-DE')).toBe('19,50\u00a0€')
    expect(formatPrice(1500, 'JPY', 'en-US')).toBe('¥1,500')
    expect(formatPrice('12.00', 'GBP', 'en-GB')).toBe('£12.00')
  })

  it('still shows a number for an unknown currency code or a bad amount', () => {
    expect(formatPrice('3.5', 'XX', 'en-US')).toBe('3.50')
    expect(formatPrice('n/a', 'USD', 'en-US')).toBe('$0.00')
  })

  it('converts to and from whole cents exactly', () => {
    expect(toCents('0.29')).toBe(29)
    expect(toCents(1.005)).toBe(100)
    expect(fromCents(toCents('0.1') + toCents('0.2'))).toBe('0.30')
  })
})
