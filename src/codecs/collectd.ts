/**
 * collectd's binary network protocol (the `network` plugin, UDP 25826): decoder with signature and
 * encryption support, encoder, and the mapping of value lists to sonde points.
 *
 * Decoding follows collectd's src/network.c: parts are `type | length | payload` (big-endian, the length
 * includes the 4-byte header); host/time/plugin/... set a context that carries across value lists until the
 * end of the packet (each signed or encrypted region is parsed as a packet of its own, with a fresh context,
 * as collectd does). A malformed part ends the packet with an error; unknown part types are skipped.
 *
 * Notifications (severity + message parts) are returned separately in `notifications`, never as points.
 *
 * Numbers: COUNTER/ABSOLUTE are uint64 and DERIVE is int64 on the wire; they become JS numbers, exact up
 * to 2^53 and rounded to the nearest double above that. GAUGE is a little-endian double (collectd writes
 * x86 byte order). Times are float seconds; `interval` is 0 when the sender did not send one.
 */
import type { Point, MetricKind } from '../model/point.js';
import { sanitizeComponent, sanitizeTagValue } from '../model/sanitize.js';
import type { CodecError, Decoded } from './types.js';
import type { DsKind, TypesDb } from './collectd-types-db.js';
import {
  ENCRYPT_HEADER_SIZE,
  SIGN_HEADER_SIZE,
  TYPE_ENCR_AES256,
  TYPE_SIGN_SHA256,
  decryptPayload,
  encryptPacket,
  hmacSha256,
  sameDigest,
  signPacket,
} from './collectd-crypto.js';

export type { DsKind, TypesDb, DataSource } from './collectd-types-db.js';
export { parseTypesDb, loadDefaultTypesDb, builtinTypesDb } from './collectd-types-db.js';

export const TYPE_HOST = 0x0000;
export const TYPE_TIME = 0x0001;
export const TYPE_PLUGIN = 0x0002;
export const TYPE_PLUGIN_INSTANCE = 0x0003;
export const TYPE_TYPE = 0x0004;
export const TYPE_TYPE_INSTANCE = 0x0005;
export const TYPE_VALUES = 0x0006;
export const TYPE_INTERVAL = 0x0007;
export const TYPE_TIME_HR = 0x0008;
export const TYPE_INTERVAL_HR = 0x0009;
export const TYPE_MESSAGE = 0x0100;
export const TYPE_SEVERITY = 0x0101;
export { TYPE_SIGN_SHA256, TYPE_ENCR_AES256 };

/** collectd's DATA_MAX_NAME_LEN and NOTIF_MAX_MSG_LEN, both counting the NUL. */
const MAX_NAME = 128;
const MAX_MESSAGE = 256;
/** Nesting of signed/encrypted regions we follow; real senders never nest. */
const MAX_DEPTH = 8;
const TWO32 = 4294967296;
const TWO30 = 1073741824;

export interface CollectdValue {
  readonly kind: DsKind;
  readonly value: number;
}

export interface ValueList {
  readonly host: string;
  readonly plugin: string;
  readonly pluginInstance: string;
  readonly type: string;
  readonly typeInstance: string;
  /** Seconds since the epoch, fractional. */
  readonly time: number;
  /** Seconds; 0 when not sent. */
  readonly interval: number;
  readonly values: readonly CollectdValue[];
}

export type Severity = 'failure' | 'warning' | 'okay';

export interface CollectdNotification {
  readonly host: string;
  readonly plugin: string;
  readonly pluginInstance: string;
  readonly type: string;
  readonly typeInstance: string;
  readonly time: number;
  readonly severity: Severity;
  readonly message: string;
}

export type SecurityLevel = 'none' | 'sign' | 'encrypt';

export interface DecodeCollectdOptions {
  /** When given, value lists of unknown types or with the wrong number of values are rejected. */
  readonly typesDb?: TypesDb;
  /** Server security level (collectd `SecurityLevel`); default 'none'. */
  readonly securityLevel?: SecurityLevel;
  /**
   * The user database (collectd `AuthFile`). Without it, signatures are not checked at level 'none' and
   * encrypted parts cannot be read.
   */
  readonly passwordFor?: (user: string) => string | undefined;
}

export interface CollectdDecoded extends Decoded<ValueList> {
  readonly notifications: CollectdNotification[];
}

const PP_SIGNED = 1;
const PP_ENCRYPTED = 2;

interface DecodeState {
  readonly items: ValueList[];
  readonly errors: CodecError[];
  readonly notifications: CollectdNotification[];
  readonly level: SecurityLevel;
  readonly typesDb: TypesDb | undefined;
  readonly passwordFor: ((user: string) => string | undefined) | undefined;
}

const SEVERITIES: Record<number, Severity> = { 1: 'failure', 2: 'warning', 4: 'okay' };

/** Decodes one UDP packet. Never throws: problems are returned in `errors`. */
export function decodeCollectd(packet: Buffer, opts: DecodeCollectdOptions = {}): CollectdDecoded {
  const state: DecodeState = {
    items: [],
    errors: [],
    notifications: [],
    level: opts.securityLevel ?? 'none',
    typesDb: opts.typesDb,
    passwordFor: opts.passwordFor,
  };
  parsePacket(state, packet, 0, packet.length, 0, 0, 0);
  return { items: state.items, errors: state.errors, notifications: state.notifications };
}

function readU64(b: Buffer, o: number): number {
  return b.readUInt32BE(o) * TWO32 + b.readUInt32BE(o + 4);
}

/** uint64 in units of 2^-30 s, to float seconds: each term is exact, so only the sum rounds. */
function readHrSeconds(b: Buffer, o: number): number {
  return b.readUInt32BE(o) * 4 + b.readUInt32BE(o + 4) / TWO30;
}

/**
 * Parses the parts in `b[start, end)`. `base` is added to offsets in errors (for decrypted regions, the
 * offset of the encrypted part in the outer packet).
 */
function parsePacket(
  st: DecodeState,
  b: Buffer,
  start: number,
  end: number,
  flags: number,
  depth: number,
  base: number,
): void {
  let host = '';
  let plugin = '';
  let pluginInstance = '';
  let type = '';
  let typeInstance = '';
  let time = 0;
  let interval = 0;
  let severity = 0;
  let ignored = 0;
  let pos = start;
  const err = (message: string, at: number): void => {
    st.errors.push({ message, offset: base + at });
  };

  while (end - pos > 4) {
    const ptype = b.readUInt16BE(pos);
    const plen = b.readUInt16BE(pos + 2);
    const left = end - pos;
    if (plen > left) {
      err(`part 0x${hex(ptype)} claims ${plen} bytes but only ${left} are left`, pos);
      return;
    }
    if (plen < 4) {
      err(`part 0x${hex(ptype)} has invalid length ${plen}`, pos);
      return;
    }

    if (ptype === TYPE_ENCR_AES256) {
      if (!parseEncrypted(st, b, pos, end, flags, depth, base)) return;
      pos += plen;
      continue;
    }
    if (st.level === 'encrypt' && (flags & PP_ENCRYPTED) === 0) {
      ignored++;
      pos += plen;
      continue;
    }
    if (ptype === TYPE_SIGN_SHA256) {
      const r = parseSigned(st, b, pos, end, flags, depth, base);
      if (r < 0) return;
      pos = r;
      continue;
    }
    if (st.level === 'sign' && (flags & (PP_ENCRYPTED | PP_SIGNED)) === 0) {
      ignored++;
      pos += plen;
      continue;
    }

    switch (ptype) {
      case TYPE_VALUES: {
        if (left < 15) {
          err(`values part too short (${left} bytes left)`, pos);
          return;
        }
        const n = b.readUInt16BE(pos + 4);
        const expected = 6 + 9 * n;
        if (left < expected) {
          err(`values part of ${n} values needs ${expected} bytes, only ${left} left`, pos);
          return;
        }
        if (plen !== expected) {
          err(`values part length ${plen} does not match ${n} values (${expected})`, pos);
          return;
        }
        const values: CollectdValue[] = new Array<CollectdValue>(n);
        const tOff = pos + 6;
        const vOff = tOff + n;
        for (let i = 0; i < n; i++) {
          const o = vOff + 8 * i;
          switch (b[tOff + i]) {
            case 0:
              values[i] = { kind: 'counter', value: readU64(b, o) };
              break;
            case 1:
              values[i] = { kind: 'gauge', value: b.readDoubleLE(o) };
              break;
            case 2:
              values[i] = { kind: 'derive', value: b.readInt32BE(o) * TWO32 + b.readUInt32BE(o + 4) };
              break;
            case 3:
              values[i] = { kind: 'absolute', value: readU64(b, o) };
              break;
            default:
              err(`unknown data source type ${String(b[tOff + i])}`, tOff + i);
              return;
          }
        }
        pos += plen;
        const vl: ValueList = { host, plugin, pluginInstance, type, typeInstance, time, interval, values };
        const why = rejectReason(vl, st.typesDb);
        if (why === undefined) st.items.push(vl);
        else err(why, pos - plen);
        break;
      }
      case TYPE_TIME:
      case TYPE_TIME_HR:
      case TYPE_INTERVAL:
      case TYPE_INTERVAL_HR:
      case TYPE_SEVERITY: {
        if (left < 12 || plen !== 12) {
          err(`number part 0x${hex(ptype)} must be 12 bytes, has ${plen}`, pos);
          return;
        }
        if (ptype === TYPE_TIME) time = readU64(b, pos + 4);
        else if (ptype === TYPE_TIME_HR) time = readHrSeconds(b, pos + 4);
        else if (ptype === TYPE_INTERVAL) interval = readU64(b, pos + 4);
        else if (ptype === TYPE_INTERVAL_HR) interval = readHrSeconds(b, pos + 4);
        // Severity is an int in collectd; anything beyond 32 bits cannot be a valid one.
        else severity = b.readUInt32BE(pos + 4) === 0 ? b.readUInt32BE(pos + 8) : -1;
        pos += 12;
        break;
      }
      case TYPE_HOST:
      case TYPE_PLUGIN:
      case TYPE_PLUGIN_INSTANCE:
      case TYPE_TYPE:
      case TYPE_TYPE_INSTANCE:
      case TYPE_MESSAGE: {
        const size = plen - 4;
        const max = ptype === TYPE_MESSAGE ? MAX_MESSAGE : MAX_NAME;
        if (size === 0) {
          err(`string part 0x${hex(ptype)} is empty`, pos);
          return;
        }
        if (size > max) {
          err(`string part 0x${hex(ptype)} is ${size} bytes, more than ${max}`, pos);
          return;
        }
        if (b[pos + plen - 1] !== 0) {
          err(`string part 0x${hex(ptype)} does not end with a NUL byte`, pos);
          return;
        }
        // Like collectd's C strings: an embedded NUL ends the string.
        let stop = pos + 4;
        while (b[stop] !== 0) stop++;
        const s = b.toString('utf8', pos + 4, stop);
        pos += plen;
        if (ptype === TYPE_HOST) host = s;
        else if (ptype === TYPE_PLUGIN) plugin = s;
        else if (ptype === TYPE_PLUGIN_INSTANCE) pluginInstance = s;
        else if (ptype === TYPE_TYPE) type = s;
        else if (ptype === TYPE_TYPE_INSTANCE) typeInstance = s;
        else {
          const sev = SEVERITIES[severity];
          if (sev === undefined) err(`notification with unknown severity ${severity} ignored`, pos - plen);
          else if (time === 0) err('notification with time 0 ignored', pos - plen);
          else if (s.length === 0) err('notification with an empty message ignored', pos - plen);
          else
            st.notifications.push({ host, plugin, pluginInstance, type, typeInstance, time, severity: sev, message: s });
        }
        break;
      }
      default:
        pos += plen; // unknown part types are skipped, as collectd does
    }
  }
  if (ignored > 0) {
    err(
      `${ignored} ${st.level === 'encrypt' ? 'unencrypted' : 'unsigned'} part(s) ignored (security level ${st.level})`,
      start,
    );
  }
  if (pos < end) err(`${end - pos} trailing bytes after the last part`, pos);
}

function rejectReason(vl: ValueList, db: TypesDb | undefined): string | undefined {
  if (vl.time === 0) return 'value list with time 0 dropped';
  if (vl.values.length === 0) return 'value list without values dropped';
  if (vl.host === '' || vl.plugin === '' || vl.type === '')
    return `value list without ${vl.host === '' ? 'host' : vl.plugin === '' ? 'plugin' : 'type'} dropped`;
  if (db !== undefined) {
    const ds = db.get(vl.type);
    if (ds === undefined) return `type "${vl.type}" is not in types.db`;
    if (ds.length !== vl.values.length)
      return `type "${vl.type}" has ${ds.length} data sources but ${vl.values.length} values were sent`;
  }
  return undefined;
}

/** Returns the position after the signed region, or -1 when the packet must end. */
function parseSigned(
  st: DecodeState,
  b: Buffer,
  pos: number,
  end: number,
  flags: number,
  depth: number,
  base: number,
): number {
  const left = end - pos;
  const plen = b.readUInt16BE(pos + 2);
  // records the problem; `next` is where parsing goes on (-1: the packet ends)
  const fail = (message: string, next = -1): number => {
    st.errors.push({ message, offset: base + pos });
    return next;
  };
  if (left <= SIGN_HEADER_SIZE || plen <= SIGN_HEADER_SIZE) return fail(`signature part with invalid length ${plen}`);
  if (st.passwordFor === undefined) {
    if (st.level === 'none') return pos + plen; // no user database: accepted unchecked, like collectd
    return fail('signed packet but no passwords are configured');
  }
  const user = b.toString('utf8', pos + SIGN_HEADER_SIZE, pos + plen);
  const password = st.passwordFor(user);
  if (password === undefined) return fail(`signed by unknown user "${user}"`);
  const mac = hmacSha256(password, b.subarray(pos + SIGN_HEADER_SIZE, end));
  if (!sameDigest(mac, b.subarray(pos + 4, pos + SIGN_HEADER_SIZE))) return fail(`signature mismatch for user "${user}": packet dropped`, end);
  if (depth >= MAX_DEPTH) return fail('signed/encrypted parts nested too deeply', end);
  parsePacket(st, b, pos + plen, end, flags | PP_SIGNED, depth + 1, base);
  return end;
}

/** Decrypts and parses one encrypted part; false when the packet must end. */
function parseEncrypted(
  st: DecodeState,
  b: Buffer,
  pos: number,
  end: number,
  flags: number,
  depth: number,
  base: number,
): boolean {
  const left = end - pos;
  const plen = b.readUInt16BE(pos + 2);
  const fail = (message: string): boolean => {
    st.errors.push({ message, offset: base + pos });
    return false;
  };
  if (left <= ENCRYPT_HEADER_SIZE || plen <= ENCRYPT_HEADER_SIZE) return fail(`encrypted part with invalid length ${plen}`);
  const ulen = b.readUInt16BE(pos + 4);
  if (ulen === 0 || ulen > plen - (ENCRYPT_HEADER_SIZE + 1))
    return fail(`encrypted part with invalid username length ${ulen}`);
  const user = b.toString('utf8', pos + 6, pos + 6 + ulen);
  const password = st.passwordFor?.(user);
  if (password === undefined) return fail(`cannot decrypt: no password for user "${user}"`);
  const ivAt = pos + 6 + ulen;
  const payload = decryptPayload(b.subarray(ivAt + 16, pos + plen), b.subarray(ivAt, ivAt + 16), password);
  if (payload === undefined) return fail(`checksum mismatch decrypting data of user "${user}" (wrong password?)`);
  if (depth >= MAX_DEPTH) return fail('signed/encrypted parts nested too deeply');
  parsePacket(st, payload, 0, payload.length, flags | PP_ENCRYPTED, depth + 1, base + ivAt + 16 + 20);
  return true;
}

function hex(t: number): string {
  return t.toString(16).padStart(4, '0');
}

// ---------------------------------------------------------------------------------------------------------
// Points

const KIND_OF: Record<DsKind, MetricKind> = {
  gauge: 'gauge',
  // DERIVE is a counter that may also decrease; both are cumulative, so rate processors apply.
  counter: 'counter',
  derive: 'counter',
  // ABSOLUTE values are reset on every read: each one is the change since the previous.
  absolute: 'delta',
};

function component(s: string): string {
  // Dots inside a component would add levels to the dotted name, as collectd's graphite writer avoids too.
  return sanitizeComponent(s.includes('.') ? s.replaceAll('.', '_') : s);
}

/**
 * Maps a value list to points named `plugin[.plugin_instance].type[.type_instance][.ds]`, tagged with `host`.
 * The data-source name is appended only for types with several values (its types.db name, else its index).
 * Kinds: GAUGE -> gauge, COUNTER and DERIVE -> counter, ABSOLUTE -> delta; integer types are marked `int`.
 * A list whose time does not fit a millisecond timestamp gives no points.
 */
export function valueListToPoints(vl: ValueList, typesDb?: TypesDb): Point[] {
  let base = component(vl.plugin);
  const parts = [vl.pluginInstance, vl.type, vl.typeInstance];
  for (const p of parts) {
    if (p === '') continue;
    const c = component(p);
    if (c !== '') base = base === '' ? c : base + '.' + c;
  }
  const host = sanitizeTagValue(vl.host);
  const tags = host === '' ? {} : { host };
  const ts = Math.round(vl.time * 1000);
  // A time beyond 2^53 ms (year 287 396) is garbage, not a timestamp.
  if (!Number.isSafeInteger(ts)) return [];
  const n = vl.values.length;
  const ds = n > 1 ? typesDb?.get(vl.type) : undefined;
  const dsNames = ds !== undefined && ds.length === n ? ds : undefined;
  const out: Point[] = [];
  for (let i = 0; i < n; i++) {
    const v = vl.values[i] as CollectdValue;
    let name = base;
    if (n > 1) {
      const dn = component(dsNames?.[i]?.name ?? String(i));
      name = name === '' ? dn : name + '.' + dn;
    }
    if (name === '') continue;
    const p: Point =
      v.kind === 'gauge'
        ? { name, tags, value: v.value, ts, kind: 'gauge' }
        : { name, tags, value: v.value, ts, kind: KIND_OF[v.kind], int: true };
    out.push(p);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// Encoder

export interface EncodeCollectdOptions {
  /** Largest packet produced, security overhead included; default 1452, clamped to [128, 65535]. */
  readonly maxPacketSize?: number;
  readonly security?: { readonly level: 'sign' | 'encrypt'; readonly username: string; readonly password: string };
  /** Send time/interval as TIME_HR/INTERVAL_HR (2^-30 s units, collectd 5); default true. */
  readonly useTimeHr?: boolean;
}

interface Ctx {
  host: string;
  plugin: string;
  pluginInstance: string;
  type: string;
  typeInstance: string;
  time: number;
  interval: number;
}

const freshCtx = (): Ctx => ({ host: '', plugin: '', pluginInstance: '', type: '', typeInstance: '', time: 0, interval: 0 });

/** Encodes value lists into packets; invalid lists are skipped. See `encodeCollectdPackets` for the errors. */
export function encodeCollectd(lists: readonly ValueList[], opts: EncodeCollectdOptions = {}): Buffer[] {
  return encodeCollectdPackets(lists, opts).packets;
}

/**
 * Encodes value lists into as few packets as fit `maxPacketSize`, emitting host/time/interval/plugin/...
 * parts only when they change within a packet (the receiver's context resets per packet). With `security`
 * every packet is signed or encrypted, and room for that overhead is left. Lists that cannot be encoded
 * (empty host/plugin/type, names over 127 bytes or holding NUL, time <= 0, no values, counter values that
 * are negative or not finite, a list too large for one packet) are skipped with an error naming their index.
 */
export function encodeCollectdPackets(
  lists: readonly ValueList[],
  opts: EncodeCollectdOptions = {},
): { packets: Buffer[]; errors: CodecError[] } {
  const packets: Buffer[] = [];
  const errors: CodecError[] = [];
  const max = Math.min(65535, Math.max(128, Math.floor(opts.maxPacketSize ?? 1452)));
  const sec = opts.security;
  const hr = opts.useTimeHr ?? true;
  let overhead = 0;
  if (sec !== undefined) {
    const ulen = Buffer.byteLength(sec.username, 'utf8');
    overhead = (sec.level === 'sign' ? SIGN_HEADER_SIZE : ENCRYPT_HEADER_SIZE) + ulen;
    if (ulen === 0 || max - overhead < 64) {
      errors.push({ message: `username must be non-empty and leave at least 64 bytes of a ${max}-byte packet` });
      return { packets, errors };
    }
  }
  const limit = max - overhead;
  const buf = Buffer.allocUnsafe(limit);
  let pos = 0;
  let ctx = freshCtx();

  const flush = (): void => {
    if (pos === 0) return;
    const body = Buffer.from(buf.subarray(0, pos));
    if (sec === undefined) packets.push(body);
    else if (sec.level === 'sign') packets.push(signPacket(body, sec.username, sec.password));
    else packets.push(encryptPacket(body, sec.username, sec.password));
    pos = 0;
    ctx = freshCtx();
  };

  for (let i = 0; i < lists.length; i++) {
    const vl = lists[i] as ValueList;
    const bad = invalidReason(vl);
    if (bad !== undefined) {
      errors.push({ message: `value list ${i} skipped: ${bad}` });
      continue;
    }
    const timeUnits = hr ? toHrUnits(vl.time) : Math.round(vl.time);
    const intervalUnits = hr ? toHrUnits(vl.interval) : Math.round(vl.interval);
    if (timeUnits === 0) {
      errors.push({ message: `value list ${i} skipped: time ${vl.time} rounds to 0` });
      continue;
    }
    let need = sizeFor(vl, ctx, timeUnits, intervalUnits);
    if (pos + need > limit && pos > 0) {
      flush();
      need = sizeFor(vl, ctx, timeUnits, intervalUnits);
    }
    if (need > limit) {
      errors.push({ message: `value list ${i} skipped: needs ${need} bytes, more than a packet of ${max} holds` });
      continue;
    }
    if (vl.host !== ctx.host) pos = writeString(buf, pos, TYPE_HOST, (ctx.host = vl.host));
    if (timeUnits !== ctx.time) pos = writeNumber(buf, pos, hr ? TYPE_TIME_HR : TYPE_TIME, (ctx.time = timeUnits));
    if (intervalUnits !== ctx.interval)
      pos = writeNumber(buf, pos, hr ? TYPE_INTERVAL_HR : TYPE_INTERVAL, (ctx.interval = intervalUnits));
    if (vl.plugin !== ctx.plugin) pos = writeString(buf, pos, TYPE_PLUGIN, (ctx.plugin = vl.plugin));
    if (vl.pluginInstance !== ctx.pluginInstance)
      pos = writeString(buf, pos, TYPE_PLUGIN_INSTANCE, (ctx.pluginInstance = vl.pluginInstance));
    if (vl.type !== ctx.type) pos = writeString(buf, pos, TYPE_TYPE, (ctx.type = vl.type));
    if (vl.typeInstance !== ctx.typeInstance)
      pos = writeString(buf, pos, TYPE_TYPE_INSTANCE, (ctx.typeInstance = vl.typeInstance));
    pos = writeValues(buf, pos, vl.values);
  }
  flush();
  return { packets, errors };
}

function invalidReason(vl: ValueList): string | undefined {
  if (vl.host === '' || vl.plugin === '' || vl.type === '') return 'host, plugin and type must not be empty';
  for (const s of [vl.host, vl.plugin, vl.pluginInstance, vl.type, vl.typeInstance]) {
    if (s.includes('\0')) return 'names must not contain NUL';
    if (Buffer.byteLength(s, 'utf8') >= MAX_NAME) return `name "${s.slice(0, 40)}" is longer than ${MAX_NAME - 1} bytes`;
  }
  if (!(vl.time > 0) || !Number.isFinite(vl.time) || vl.time >= 2 ** 33) return `invalid time ${vl.time}`;
  if (!(vl.interval >= 0) || !Number.isFinite(vl.interval) || vl.interval >= 2 ** 33)
    return `invalid interval ${vl.interval}`;
  if (vl.values.length === 0 || vl.values.length > 65535) return `${vl.values.length} values`;
  for (const v of vl.values) {
    if (v.kind === 'gauge') continue;
    if (!Number.isFinite(v.value)) return `${v.kind} value ${v.value} is not finite`;
    if (v.kind === 'derive') {
      if (v.value < -(2 ** 63) || v.value >= 2 ** 63) return `derive value ${v.value} out of int64 range`;
    } else if (v.value < 0 || v.value >= 2 ** 64) return `${v.kind} value ${v.value} out of uint64 range`;
    else if (v.kind !== 'counter' && v.kind !== 'absolute') return `unknown kind ${String(v.kind)}`;
  }
  return undefined;
}

/**
 * Float seconds to integer 2^-30 s units, kept in a double: a current time needs about 61 bits there, so
 * the result is rounded to a few hundred units (well under a microsecond), which collectd does not resolve.
 */
function toHrUnits(seconds: number): number {
  return Math.round(seconds * TWO30);
}

function sizeFor(vl: ValueList, ctx: Ctx, time: number, interval: number): number {
  let n = 6 + 9 * vl.values.length;
  if (vl.host !== ctx.host) n += 5 + Buffer.byteLength(vl.host, 'utf8');
  if (time !== ctx.time) n += 12;
  if (interval !== ctx.interval) n += 12;
  if (vl.plugin !== ctx.plugin) n += 5 + Buffer.byteLength(vl.plugin, 'utf8');
  if (vl.pluginInstance !== ctx.pluginInstance) n += 5 + Buffer.byteLength(vl.pluginInstance, 'utf8');
  if (vl.type !== ctx.type) n += 5 + Buffer.byteLength(vl.type, 'utf8');
  if (vl.typeInstance !== ctx.typeInstance) n += 5 + Buffer.byteLength(vl.typeInstance, 'utf8');
  return n;
}

function writeString(buf: Buffer, pos: number, type: number, s: string): number {
  const n = buf.write(s, pos + 4, 'utf8');
  buf.writeUInt16BE(type, pos);
  buf.writeUInt16BE(n + 5, pos + 2);
  buf[pos + 4 + n] = 0;
  return pos + 5 + n;
}

/** Writes a non-negative integer-valued double as uint64 BE (exact: every double >= 2^53 is an integer). */
function writeU64(buf: Buffer, pos: number, v: number): void {
  const hi = Math.floor(v / TWO32);
  buf.writeUInt32BE(hi, pos);
  buf.writeUInt32BE(v - hi * TWO32, pos + 4);
}

function writeNumber(buf: Buffer, pos: number, type: number, v: number): number {
  buf.writeUInt16BE(type, pos);
  buf.writeUInt16BE(12, pos + 2);
  writeU64(buf, pos + 4, v);
  return pos + 12;
}

function writeValues(buf: Buffer, pos: number, values: readonly CollectdValue[]): number {
  const n = values.length;
  buf.writeUInt16BE(TYPE_VALUES, pos);
  buf.writeUInt16BE(6 + 9 * n, pos + 2);
  buf.writeUInt16BE(n, pos + 4);
  let t = pos + 6;
  let o = t + n;
  for (const v of values) {
    switch (v.kind) {
      case 'gauge':
        buf[t] = 1;
        buf.writeDoubleLE(v.value, o);
        break;
      case 'derive': {
        buf[t] = 2;
        const x = Math.round(v.value);
        const hi = Math.floor(x / TWO32);
        buf.writeInt32BE(hi, o);
        buf.writeUInt32BE(x - hi * TWO32, o + 4);
        break;
      }
      default:
        buf[t] = v.kind === 'counter' ? 0 : 3;
        writeU64(buf, o, Math.round(v.value));
    }
    t++;
    o += 8;
  }
  return o;
}
