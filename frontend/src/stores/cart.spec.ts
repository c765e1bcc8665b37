import { createPinia, setActivePinia } from 'pinia'
import { beforeEach, describe, expect, it } from 'vitest'
import { nextTick } from 'vue'

import { CART_STORAGE_KEY, MAX_LINE_QUANTITY, useCartStore, type CartProduct } from './cart'

function product(id: string, price: string, stock: number | null = null, currency = 'USD'): CartProduct {
  return { product_id: id, title: `Product ${id}`, price, currency, image_url: `/images/products/${id}.svg`, stock }
}

describe('cart store', () => {
  beforeEach(() => {
    localStorage.clear()
    setActivePinia(createPinia())
  })

  it('adds products, merging a product added twice', () => {
    const cart = useCartStore()

    cart.add(product('P1', '10.00'), 1)
    cart.add(product('P2', '5.50'), 2)
    cart.add(product('P1', '10.00'), 2)

    expect(cart.lines.map((line) => [line.productId, line.quantity])).toEqual([
      ['P1', 3],
      ['P2', 2],
    ])
    expect(cart.count).toBe(5)
    expect(cart.isEmpty).toBe(false)
  })

  it('totals in whole cents, so prices never drift', () => {
    const cart = useCartStore()

    cart.add(product('P1', '0.10'), 1)
    cart.add(product('P2', '0.20'), 1)
    cart.add(product('P3', '19.99'), 3)

    expect(cart.total).toBe('60.27')
    expect(cart.totalCents).toBe(6027)
  })

  it('never holds more than the stock, nor more than the line limit', () => {
    const cart = useCartStore()

    expect(cart.add(product('P1', '1.00', 3), 2)).toBe(2)
    expect(cart.add(product('P1', '1.00', 3), 5)).toBe(1)
    expect(cart.add(product('P2', '1.00', 0), 1)).toBe(0)
    cart.add(product('P3', '1.00'), 500)

    expect(cart.find('P1')?.quantity).toBe(3)
    expect(cart.find('P2')).toBeUndefined()
    expect(cart.find('P3')?.quantity).toBe(MAX_LINE_QUANTITY)
    expect(cart.maxQuantity('P1')).toBe(3)
  })

  it('changes quantities within the limits and removes a line set to zero', () => {
    const cart = useCartStore()
    cart.add(product('P1', '1.00', 4), 1)
    cart.add(product('P2', '1.00'), 1)

    cart.setQuantity('P1', 10)
    expect(cart.find('P1')?.quantity).toBe(4)
    cart.setQuantity('P1', 2.7)
    expect(cart.find('P1')?.quantity).toBe(2)
    cart.setQuantity('P2', 0)
    expect(cart.find('P2')).toBeUndefined()
    cart.remove('P1')
    expect(cart.isEmpty).toBe(true)
  })

  it('keeps the recommendation that led to a product and sends it with the order lines', () => {
    const cart = useCartStore()
    const context = { request_id: 'r-1', placement: 'product_similar', position: 2 }

    cart.add(product('P1', '1.00'), 1, context)
    cart.add(product('P2', '1.00'), 2)

    expect(cart.orderLines()).toEqual([
      { product_id: 'P1', quantity: 1, context, unit_price: '1.00' },
      { product_id: 'P2', quantity: 2, context: {}, unit_price: '1.00' },
    ])
  })

  it('sends the price the shopper saw, unless it is one the checkout API would refuse', () => {
    localStorage.setItem(
      CART_STORAGE_KEY,
      JSON.stringify([
        { productId: 'P1', title: 'Mug', price: '14.5', currency: 'USD', imageUrl: '', quantity: 1, stock: null, context: {} },
        { productId: 'P2', title: 'Tea', price: '-1.00', currency: 'USD', imageUrl: '', quantity: 1, stock: null, context: {} },
        { productId: 'P3', title: 'Pot', price: '3.999', currency: 'USD', imageUrl: '', quantity: 1, stock: null, context: {} },
        { productId: 'P4', title: 'Jug', price: 'free', currency: 'USD', imageUrl: '', quantity: 1, stock: null, context: {} },
      ]),
    )

    expect(useCartStore().orderLines()).toEqual([
      { product_id: 'P1', quantity: 1, context: {}, unit_price: '14.5' },
      { product_id: 'P2', quantity: 1, context: {} },
      { product_id: 'P3', quantity: 1, context: {} },
      { product_id: 'P4', quantity: 1, context: {} },
    ])
  })

  it('takes the prices the server charged for the lines it holds', async () => {
    const cart = useCartStore()
    cart.add(product('P1', '10.00'), 2)
    cart.add(product('P2', '5.50'), 1)

    cart.updatePrices([
      { product_id: 'P1', title: 'Product P1', cart_price: '10.00', price: '12.25' },
      { product_id: 'P9', title: 'Product P9', cart_price: '1.00', price: '2.00' },
    ])
    await nextTick()

    expect(cart.lines.map((line) => [line.productId, line.price])).toEqual([
      ['P1', '12.25'],
      ['P2', '5.50'],
    ])
    expect(cart.total).toBe('30.00')
    expect(JSON.parse(localStorage.getItem(CART_STORAGE_KEY) ?? '[]')[0]).toMatchObject({ productId: 'P1', price: '12.25' })
  })

  it('survives a reload through localStorage', async () => {
    const cart = useCartStore()
    cart.add(product('P1', '12.50'), 2)
    await nextTick()

    setActivePinia(createPinia())
    const reloaded = useCartStore()

    expect(reloaded.lines).toHaveLength(1)
    expect(reloaded.lines[0]).toMatchObject({ productId: 'P1', price: '12.50', quantity: 2 })
    reloaded.clear()
    await nextTick()
    expect(JSON.parse(localStorage.getItem(CART_STORAGE_KEY) ?? 'null')).toEqual([])
  })

  it('ignores a corrupt or tampered saved cart', () => {
    localStorage.setItem(CART_STORAGE_KEY, JSON.stringify([{ productId: 'P1', quantity: -3 }, { nonsense: true }, 'x']))
    expect(useCartStore().lines).toEqual([])

    localStorage.setItem(CART_STORAGE_KEY, '{not json')
    setActivePinia(createPinia())
    expect(useCartStore().lines).toEqual([])
  })

  it('notices a cart mixing currencies', () => {
    const cart = useCartStore()
    cart.add(product('P1', '1.00'), 1)
    expect(cart.mixedCurrencies).toBe(false)
    cart.add(product('E1', '1.00', null, 'EUR'), 1)
    expect(cart.mixedCurrencies).toBe(true)
  })
})

describe('cart checkout key', () => {
  beforeEach(() => {
    localStorage.clear()
    setActivePinia(createPinia())
  })

  it('makes a UUID when checkout starts and keeps it for every retry of the same cart', () => {
    const cart = useCartStore()
    cart.add(product('P1', '1.00'), 2)

    const key = cart.checkoutKey()

    expect(key).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
    expect(cart.checkoutKey()).toBe(key)
    cart.updatePrices([{ product_id: 'P1', title: 'Product P1', cart_price: '1.00', price: '1.20' }])
    expect(cart.checkoutKey()).toBe(key) // the server compares products and quantities only
  })

  it.each([
    ['a quantity changes', (cart: ReturnType<typeof useCartStore>) => cart.setQuantity('P1', 3)],
    ['a product is added', (cart: ReturnType<typeof useCartStore>) => cart.add(product('P2', '1.00'), 1)],
    ['a line is removed', (cart: ReturnType<typeof useCartStore>) => cart.remove('P1')],
    ['the cart is cleared after the order', (cart: ReturnType<typeof useCartStore>) => cart.clear()],
  ])('makes a new key once %s', (_change, change) => {
    const cart = useCartStore()
    cart.add(product('P1', '1.00'), 2)
    const key = cart.checkoutKey()

    change(cart)

    expect(cart.checkoutKey()).not.toBe(key)
  })

  it('keeps the key across a reload of the same cart, not of a cart changed meanwhile', async () => {
    const cart = useCartStore()
    cart.add(product('P1', '1.00'), 2)
    const key = cart.checkoutKey()
    await nextTick()

    setActivePinia(createPinia())
    expect(useCartStore().checkoutKey()).toBe(key)

    const stored = JSON.parse(localStorage.getItem(CART_STORAGE_KEY) ?? '[]')
    stored[0].quantity = 5
    localStorage.setItem(CART_STORAGE_KEY, JSON.stringify(stored))
    setActivePinia(createPinia())
    expect(useCartStore().checkoutKey()).not.toBe(key)
  })

  it('forgets the key on request', () => {
    const cart = useCartStore()
    cart.add(product('P1', '1.00'), 1)
    const key = cart.checkoutKey()

    cart.resetCheckoutKey()

    expect(cart.checkoutKey()).not.toBe(key)
  })
})
