/**
 * Recognizes the alert notifications a monitoring backend posts back to `/heartbeat`: Monasca's webhook
 * notification and Alertmanager's webhook payload. Anything else is invalid (answered 400 and counted).
 */
import { parseMonascaWebhook } from '../../codecs/monasca.js';

export type HeartbeatNotification =
  | {
      readonly ok: true;
      readonly format: 'monasca' | 'alertmanager';
      /** Whether it says the pipeline works: a firing heartbeat alert, or a Monasca state other than UNDETERMINED. */
      readonly alive: boolean;
      /** ALARM/OK/UNDETERMINED (Monasca) or firing/resolved (Alertmanager). */
      readonly state: string;
      readonly name: string;
    }
  | { readonly ok: false; readonly error: string };

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function stringMap(v: unknown): boolean {
  return isObject(v) && Object.values(v).every((x) => typeof x === 'string');
}

/** Validates an Alertmanager webhook body (version 4). */
function parseAlertmanager(o: Record<string, unknown>): HeartbeatNotification {
  if (o['version'] !== '4') return { ok: false, error: `unsupported Alertmanager payload version ${JSON.stringify(o['version'])} (expected "4")` };
  const status = o['status'];
  if (status !== 'firing' && status !== 'resolved') return { ok: false, error: '"status" must be firing or resolved' };
  const alerts = o['alerts'];
  if (!Array.isArray(alerts)) return { ok: false, error: '"alerts" must be an array' };
  let firing = false;
  let name = '';
  for (const [i, a] of alerts.entries()) {
    if (!isObject(a)) return { ok: false, error: `alerts[${i}] is not an object` };
    if (a['status'] !== 'firing' && a['status'] !== 'resolved') return { ok: false, error: `alerts[${i}].status must be firing or resolved` };
    if (!stringMap(a['labels'])) return { ok: false, error: `alerts[${i}].labels must map strings to strings` };
    if (a['annotations'] !== undefined && !stringMap(a['annotations'])) return { ok: false, error: `alerts[${i}].annotations must map strings to strings` };
    if (a['status'] === 'firing') firing = true;
    name ||= ((a['labels'] as Record<string, string>)['alertname'] ?? '');
  }
  return { ok: true, format: 'alertmanager', alive: firing, state: status, name };
}

export function parseHeartbeatNotification(body: string): HeartbeatNotification {
  let v: unknown;
  try {
    v = JSON.parse(body);
  } catch {
    return { ok: false, error: 'body is not JSON' };
  }
  if (!isObject(v)) return { ok: false, error: 'body is not a JSON object' };
  if ('alerts' in v || 'version' in v) return parseAlertmanager(v);
  if ('alarm_id' in v || 'alarm_definition_id' in v) {
    const m = parseMonascaWebhook(body);
    if (!m.ok) return m;
    return { ok: true, format: 'monasca', alive: m.notification.state !== 'UNDETERMINED', state: m.notification.state, name: m.notification.alarm_name };
  }
  return { ok: false, error: 'neither a Monasca webhook notification (alarm_id, state, ...) nor an Alertmanager payload (version, alerts, ...)' };
}
