/** The scenario categories (guide section 5), in suite order. Kept free of zod so light modules can use it. */
export const CATEGORIES = ['network', 'service', 'database', 'pms', 'resource'] as const
