/**
 * Scenario categories. The five of the guide (section 5) are the built-in ones, in suite order;
 * categories are open, so a user's scenarios may use their own (`payments`), which sort after
 * the built-ins, alphabetically. Kept free of zod so light modules can use it.
 */

/** The built-in categories (guide section 5), in suite order. */
export const CATEGORIES = ['network', 'service', 'database', 'pms', 'resource'] as const
export type BuiltinCategory = (typeof CATEGORIES)[number]

/** What a category name may be: lower-case snake_case, like ids (`payments`, `third_party`). */
export const CATEGORY_PATTERN = /^[a-z][a-z0-9_]{0,39}$/

/** Words that select something else and so cannot be category names. */
export const RESERVED_CATEGORY_NAMES: readonly string[] = ['all']

/** True for one of the guide's five categories. */
export function isBuiltinCategory(name: string): name is BuiltinCategory {
  return (CATEGORIES as readonly string[]).includes(name)
}

/** Suite order of categories: the built-in ones in the guide's order, then the others alphabetically. */
export function compareCategories(a: string, b: string): number {
  const rank = (c: string) => (isBuiltinCategory(c) ? CATEGORIES.indexOf(c) : CATEGORIES.length)
  return rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0)
}

/** The categories of `scenarios`, each once, in suite order. */
export function categoriesOf(scenarios: readonly { scenario: { category: string } }[]): string[] {
  return [...new Set(scenarios.map((s) => s.scenario.category))].sort(compareCategories)
}

/** The built-in categories plus those of `scenarios`, in suite order: every name a selection may use. */
export function knownCategories(scenarios: readonly { scenario: { category: string } }[]): string[] {
  return [...new Set([...CATEGORIES, ...categoriesOf(scenarios)])].sort(compareCategories)
}
