/**
 * The one place where the client reaches the wire codecs: collectd binary packets and statsd lines.
 * Sinks call these functions only, so the client's view of the codecs stays in one small file.
 */
export { encodeCollectd } from '../../codecs/collectd.js';
export type { ValueList, CollectdValue, EncodeCollectdOptions as CollectdEncodeOptions } from '../../codecs/collectd.js';
export { formatStatsd, packStatsdLines } from '../../codecs/statsd.js';
export type { StatsdSample, StatsdType } from '../../codecs/statsd.js';
