/** mulberry32: a seeded generator of numbers in [0, 1). */
export declare function prng(seed: number): () => number;
