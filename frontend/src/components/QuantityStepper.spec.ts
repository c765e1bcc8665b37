import { mount } from '@vue/test-utils'
import { describe, expect, it } from 'vitest'

import QuantityStepper from './QuantityStepper.vue'

function mountStepper(props: { modelValue: number; min?: number; max?: number }) {
  return mount(QuantityStepper, { props: { label: 'Quantity of Mug', ...props } })
}

const emitted = (wrapper: ReturnType<typeof mountStepper>) => (wrapper.emitted('update:modelValue') ?? []).map((args) => args[0])

describe('QuantityStepper', () => {
  it('names its controls after what they count', () => {
    const wrapper = mountStepper({ modelValue: 2 })

    expect(wrapper.get('[role="group"]').attributes('aria-label')).toBe('Quantity of Mug')
    expect(wrapper.get('input').attributes('aria-label')).toBe('Quantity of Mug')
    expect(wrapper.findAll('button').map((button) => button.attributes('aria-label'))).toEqual([
      'Decrease Quantity of Mug',
      'Increase Quantity of Mug',
    ])
    expect((wrapper.get('input').element as HTMLInputElement).value).toBe('2')
  })

  it('counts one up and one down with its buttons', async () => {
    const wrapper = mountStepper({ modelValue: 3 })

    await wrapper.get('[aria-label="Increase Quantity of Mug"]').trigger('click')
    await wrapper.get('[aria-label="Decrease Quantity of Mug"]').trigger('click')

    expect(emitted(wrapper)).toEqual([4, 2])
  })

  it('cannot go below the least or above the most', async () => {
    const atLeast = mountStepper({ modelValue: 1 })
    const atMost = mountStepper({ modelValue: 5, max: 5 })

    expect(atLeast.get('[aria-label="Decrease Quantity of Mug"]').attributes('disabled')).toBeDefined()
    expect(atLeast.get('[aria-label="Increase Quantity of Mug"]').attributes('disabled')).toBeUndefined()
    expect(atMost.get('[aria-label="Increase Quantity of Mug"]').attributes('disabled')).toBeDefined()
    expect(atMost.get('[aria-label="Decrease Quantity of Mug"]').attributes('disabled')).toBeUndefined()
    await atLeast.get('[aria-label="Decrease Quantity of Mug"]').trigger('click')
    await atMost.get('[aria-label="Increase Quantity of Mug"]').trigger('click')
    expect(emitted(atLeast)).toEqual([])
    expect(emitted(atMost)).toEqual([])
  })

  it('takes a typed number as a whole number within the limits', async () => {
    const wrapper = mountStepper({ modelValue: 2, min: 1, max: 10 })
    const input = wrapper.get('input')

    for (const typed of ['7', '50', '0', '3.9', '-4']) await input.setValue(typed)

    expect(emitted(wrapper)).toEqual([7, 10, 1, 3, 1])
  })

  it('waits while the field is cleared, and shows the quantity again when it is left', async () => {
    const wrapper = mountStepper({ modelValue: 4 })
    const input = wrapper.get('input')

    await input.setValue('')
    expect(emitted(wrapper)).toEqual([])

    await input.trigger('blur')
    expect((input.element as HTMLInputElement).value).toBe('4')
  })
})
