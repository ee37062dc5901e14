import { randomInt, randomUUID } from 'node:crypto'

// The synthetic transaction generator of the seed's event model.

export const CATALOG: Record<string, string[]> = {
  Electronics: ['Smartphone X', 'Laptop Pro', 'Wireless Earbuds', 'Smart Watch', '4K Monitor'],
  Fashion: ['Denim Jacket', 'Running Shoes', 'Silk Scarf', 'Leather Belt', 'Summer Dress'],
  Beauty: ['Face Serum', 'Lipstick Set', 'Perfume', 'Hair Dryer', 'Nail Kit'],
  Home: ['Coffee Maker', 'Desk Lamp', 'Throw Pillow', 'Cookware Set', 'Vacuum Cleaner'],
  Sports: ['Yoga Mat', 'Dumbbell Set', 'Tennis Racket', 'Cycling Helmet', 'Football'],
  Grocery: ['Organic Coffee', 'Olive Oil', 'Green Tea', 'Dark Chocolate', 'Honey Jar'],
}
const CATEGORIES = Object.keys(CATALOG)
const PAYMENT_METHODS = ['credit_card', 'debit_card', 'paypal']

/** The seed's timestamp form: "YYYY-MM-DD HH:MM:SS", UTC. */
export function seedTimestamp(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19).replace('T', ' ')
}

export function transaction(nowMs: number): Record<string, unknown> {
  const category = CATEGORIES[randomInt(CATEGORIES.length)]!
  const names = CATALOG[category]!
  return {
    transaction_id: randomUUID(),
    user_id: `user_${randomInt(10_000, 100_000)}`,
    product_category: category,
    product_name: names[randomInt(names.length)],
    amount: randomInt(1000, 100_000) / 100, // 10.00 .. 999.99
    timestamp: seedTimestamp(nowMs),
    payment_method: PAYMENT_METHODS[randomInt(PAYMENT_METHODS.length)],
  }
}
