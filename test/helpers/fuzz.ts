/** Fast-check arbitraries shared by the codec fuzz tests. */
import fc from 'fast-check';

/**
 * A window of a few lines of `golden` (starting at a line start, up to 600 characters) with one random
 * edit in it: up to `maxDelete` characters replaced by a string from `insert`. Mutated real input reaches
 * deeper into a parser than random bytes do.
 */
export function mutatedWindow(golden: string, insert: fc.Arbitrary<string>, maxDelete: number): fc.Arbitrary<string> {
  return fc.tuple(fc.nat(golden.length), fc.nat(600), fc.nat(600), fc.nat(maxDelete), insert).map(([from, len, at, del, ins]) => {
    const start = golden.lastIndexOf('\n', from) + 1;
    const w = golden.slice(start, start + len);
    const a = at % (w.length + 1);
    return w.slice(0, a) + ins + w.slice(a + del);
  });
}
