/** The store reaches the shared query layer through this module (the engine lives in src/query/). */
export { BucketAccumulator, runQuery, runQuerySliced, runSteps, runStepsSliced, validateQuery, type QuerySource, type Resolution, type SeriesRef, type Sink } from '../query/engine.js';
export { nameMatcher, tagMatcher } from '../query/select.js';
