import { mkdirSync, accessSync, constants } from 'node:fs';
import { hostname as osHostname } from 'node:os';
import { join, resolve } from 'node:path';
import type { Point, Tags } from './model/point.js';
import type { SondeConfig, PluginInstance } from './config/load.js';
import type { Ack, Input, InputSpec, Output, OutputSpec, PluginContext, ProcessorSpec } from './core/plugin.js';
import { createLogger, type Logger, type LogLevel } from './core/logger.js';
import { SelfMetrics } from './core/self-metrics.js';
import { OutputRunner } from './core/output-runner.js';
import { queueDirFor } from './core/disk-queue.js';
import { DirLock, DirLockedError } from './core/dir-lock.js';
import { Pipeline, type IngressSource, type ProcessorSlot } from './core/pipeline.js';
import { scheduleAligned, type ScheduledTask } from './core/scheduler.js';
import { Router } from './http/router.js';
import { HttpServer } from './http/server.js';
import { registerApi, statusDocument } from './http/api.js';
import { registerDashboard } from './http/dashboard.js';
import { registerOpenTsdbApi } from './http/opentsdb-api.js';
import { registerPrometheusApi } from './http/prometheus-api.js';
import type { StoreHandle } from './store/handle.js';
import { openStore, openStoreAuto, openStoreInProcess } from './store/index.js';
import type { StoreOptions } from './store/options.js';
import type { AlertingHandle } from './alerting/index.js';
import { hasContributedRules } from './alerting/bus.js';
import { sendJson } from './http/router.js';
import { SondeError } from './errors.js';
import { formatDuration } from './model/quantities.js';
import { sharedDecodeBudget } from './net/body.js';

/**
 * The agent: wires the configured plugins into a pipeline, runs the schedules, serves the HTTP API,
 * and shuts everything down in order (inputs stop, queues drain, outputs flush, store closes).
 */
export interface AgentOptions {
  logger?: Logger;
  /** Version string for the banner and /api/v1/health. */
  version?: string;
  /** Override the store opener (tests). */
  openStore?: (dir: string, cfg: SondeConfig['store']) => Promise<StoreHandle>;
}

interface RunningInput {
  inst: PluginInstance;
  input: Input;
  interval: number;
  task: ScheduledTask | null;
  source: IngressSource;
  ctx: PluginContext;
}

/** Something that did not start but did not stop the agent (a default port taken). */
export interface AgentWarning {
  id: string;
  message: string;
  hint?: string;
  at: number;
}

export interface Banner {
  collects: string[];
  listens: string[];
  dataDir: string;
  url: string | null;
  outputs: string[];
  warnings: AgentWarning[];
}

export class Agent {
  readonly metrics = new SelfMetrics();
  readonly logger: Logger;
  readonly hostname: string;
  readonly dataDir: string;
  readonly globalTags: Tags;
  private readonly controller = new AbortController();
  private readonly router = new Router();
  private http: HttpServer | null = null;
  private store: StoreHandle | undefined;
  private pipeline: Pipeline | null = null;
  private runners: OutputRunner[] = [];
  private outputs: Array<{ id: string; output: Output }> = [];
  private processors: ProcessorSlot[] = [];
  private inputs: RunningInput[] = [];
  private tasks: ScheduledTask[] = [];
  private started = false;
  private stopping: Promise<void> | null = null;
  private readonly startedAt = Date.now();
  private lock: DirLock | null = null;
  private alerting: AlertingHandle | null = null;
  private readonly warningList: AgentWarning[] = [];

  constructor(
    readonly config: SondeConfig,
    private readonly opts: AgentOptions = {},
  ) {
    this.logger = opts.logger ?? createLogger({ level: config.agent.log_level as LogLevel, format: config.agent.log_format });
    this.hostname = config.agent.hostname || osHostname();
    this.dataDir = resolve(config.baseDir, config.agent.data_dir);
    this.globalTags = config.agent.omit_hostname ? { ...config.agent.tags } : { host: this.hostname, ...config.agent.tags };
  }

  get version(): string {
    return this.opts.version ?? '0.0.0';
  }

  get storeHandle(): StoreHandle | undefined {
    return this.store;
  }

  get uptimeMs(): number {
    return Date.now() - this.startedAt;
  }

  private readonly ingestSources = new Map<string, IngressSource>();
  /**
   * Points in from outside the inputs (the HTTP write endpoint), acknowledged like a receiver's: the
   * promise settles once they are stored or queued by every output (see Pipeline.emitAcked).
   */
  ingest(sourceId: string, points: Point[]): Promise<Ack> {
    if (!this.pipeline) return Promise.resolve({ ok: false, status: 503, reason: 'the agent is not running', retryAfterS: 1 });
    let src = this.ingestSources.get(sourceId);
    if (!src) {
      src = { id: sourceId, tags: this.globalTags, namePrefix: '' };
      this.ingestSources.set(sourceId, src);
    }
    return this.pipeline.emitAcked(src, points);
  }

  private acquireLock(): void {
    mkdirSync(this.dataDir, { recursive: true });
    try {
      accessSync(this.dataDir, constants.W_OK);
    } catch {
      throw new SondeError('SONDE_ERR_DATA_DIR', `data directory ${this.dataDir} is not writable`, 'pass --data-dir with a directory you can write to');
    }
    try {
      // a holder killed a moment ago still holds it while its threads exit
      this.lock = DirLock.acquire(this.dataDir, 2000);
    } catch (e) {
      if (e instanceof DirLockedError) throw new SondeError('SONDE_ERR_DATA_DIR', e.message, 'stop it first, or give this agent its own --data-dir');
      throw e;
    }
  }

  private context(inst: PluginInstance, interval: number, emit: (points: Point[]) => boolean, source?: IngressSource): PluginContext {
    const none = (): Promise<Ack> => Promise.resolve({ ok: false, status: 503, reason: 'the agent is not running', retryAfterS: 1 });
    return {
      id: inst.id,
      logger: this.logger.child({ plugin: inst.id }),
      metrics: this.metrics.forPlugin(inst.id),
      dataDir: this.dataDir,
      baseDir: this.config.baseDir,
      hostname: this.hostname,
      paths: { proc: '/proc', sys: '/sys', root: '/' },
      interval,
      emit,
      emitAcked: source ? (points) => this.pipeline?.emitAcked(source, points) ?? none() : none,
      emitAckedBatch: source ? (batch) => this.pipeline?.emitAckedBatch(source, batch) ?? none() : none,
      room: (n) => this.pipeline?.room(n),
      signal: this.controller.signal,
      http: this.router,
      store: this.store,
    };
  }

  /** Starts everything; on any failure, stops what started and rethrows. */
  async start(): Promise<Banner> {
    if (this.started) throw new Error('agent already started');
    this.started = true;
    try {
      return await this.doStart();
    } catch (e) {
      await this.stop().catch(() => {});
      throw e;
    }
  }

  /**
   * Alerting runs when there is something to evaluate or notify: rules or notifiers in `[alerting]`, or
   * rules contributed by plugins (the heartbeat input's) once the inputs have started. Without any, its
   * code is not loaded and the alerts API answers an empty list.
   */
  private async startAlerting(): Promise<void> {
    const cfg = this.config;
    if (cfg.alerting.rules.length === 0 && cfg.alerting.notifiers.length === 0 && !hasContributedRules(this.dataDir)) {
      this.router.route('GET', '/api/v1/alerts', (_req, res) => sendJson(res, 200, { alerts: [], rules: [] }));
      return;
    }
    const { createAlerting } = await import('./alerting/index.js');
    const alertSource: IngressSource = { id: 'alerting', tags: this.globalTags, namePrefix: '' };
    const alerting = createAlerting(cfg.alerting, {
      store: this.store,
      logger: this.logger.child({ component: 'alerting' }),
      metrics: this.metrics,
      http: this.router,
      dataDir: this.dataDir,
      hostname: this.hostname,
      emit: (points) => this.pipeline?.emit(alertSource, points) ?? false,
    });
    this.alerting = alerting;
    await alerting.start();
  }

  private async doStart(): Promise<Banner> {
    const cfg = this.config;
    this.acquireLock();
    sharedDecodeBudget.capacity = cfg.agent.max_decode_bytes;
    if (cfg.store.enabled) {
      const dir = join(this.dataDir, 'store');
      const opener =
        this.opts.openStore ??
        ((d: string, s: SondeConfig['store']) => {
          const o = { ...storeOptions(s), logger: this.logger.child({ component: 'store' }) };
          // every write fsyncs with `batch`: keep that off the agent's thread from the start
          if (s.worker === true || (s.worker === 'auto' && s.fsync === 'batch')) return openStore(d, o);
          return s.worker === false ? openStoreInProcess(d, o) : openStoreAuto(d, o);
        });
      this.store = await opener(dir, cfg.store);
    }

    // outputs
    for (const inst of cfg.outputs) {
      const spec = inst.spec as OutputSpec;
      const ctx = this.context(inst, cfg.agent.interval, () => false);
      const output = spec.create(inst.config, ctx);
      const c = inst.config;
      const dd = spec.deliveryDefaults ?? {};
      const diskQueue = (c['disk_queue'] as boolean | undefined) ?? dd.disk_queue ?? true;
      const runner = new OutputRunner(
        inst.id,
        output,
        {
          batchSize: c['batch_size'] as number,
          flushInterval: (c['flush_interval'] as number | undefined) ?? dd.flush_interval ?? cfg.agent.flush_interval,
          diskQueue: diskQueue
            ? { dir: queueDirFor(this.dataDir, inst.id), maxBytes: c['disk_queue_size'] as number, fsync: c['disk_queue_fsync'] as boolean }
            : undefined,
          writeTimeout: c['write_timeout'] as number,
          bufferSize: c['buffer_size'] as number,
          retryMaxDelay: c['retry_max_delay'] as number,
          include: c['include'] as string[],
          exclude: c['exclude'] as string[],
        },
        ctx.logger,
        ctx.metrics,
      );
      this.outputs.push({ id: inst.id, output });
      this.runners.push(runner);
    }
    for (const o of this.outputs) await o.output.start?.();
    for (const r of this.runners) r.start();

    // processors
    for (const inst of cfg.processors) {
      const spec = inst.spec as ProcessorSpec;
      const ctx = this.context(inst, cfg.agent.interval, () => false);
      this.processors.push({ id: inst.id, processor: spec.create(inst.config, ctx) });
    }

    this.pipeline = new Pipeline(
      this.processors,
      [
        ...this.runners,
        {
          push: (points) => this.alerting?.observe(points),
          // points made from columns only when there is an alerting engine to see them
          pushBatch: (batch) => {
            if (this.alerting?.observing === true) this.alerting.observe(batch.points());
          },
        },
      ],
      cfg.agent.queue_size,
      this.metrics,
      this.logger,
    );
    const pipeline = this.pipeline;

    // inputs
    for (const inst of cfg.inputs) {
      const spec = inst.spec as InputSpec;
      const interval = (inst.config['interval'] as number | undefined) ?? cfg.agent.interval;
      const source: IngressSource = {
        id: inst.id,
        tags: { ...this.globalTags, ...(inst.config['tags'] as Record<string, string>) },
        namePrefix: (inst.config['name_prefix'] as string | undefined) ?? '',
      };
      const ctx = this.context(inst, interval, (points) => pipeline.emit(source, points), source);
      const input = spec.create(inst.config, ctx);
      this.inputs.push({ inst, input, interval, task: null, source, ctx });
    }
    for (const ri of [...this.inputs]) {
      try {
        await ri.input.start?.();
      } catch (e) {
        // a default input (statsd on 8125) whose port is taken must not stop a zero-config run: it is
        // left out, said once in the log, and shown by the status API and the dashboard
        if (!ri.inst.isDefault || !(e instanceof SondeError) || e.code !== 'SONDE_ERR_LISTEN') throw e;
        const w: AgentWarning = { id: ri.inst.id, message: `${e.message}; ${ri.inst.id} is not running`, ...(e.hint ? { hint: e.hint } : {}), at: Date.now() };
        this.warningList.push(w);
        ri.ctx.metrics.lastError(w.message);
        ri.ctx.logger.warn('default input not started: its address is taken; the rest of the agent runs', { error: e.message, ...(e.hint ? { hint: e.hint } : {}) });
        this.inputs.splice(this.inputs.indexOf(ri), 1);
        await Promise.resolve(ri.input.stop?.()).catch(() => {});
      }
    }
    await this.startAlerting();

    // HTTP after plugins registered their routes
    if (cfg.http.enabled) {
      registerApi(this.router, this);
      registerDashboard(this.router, {
        store: this.store,
        dataDir: this.dataDir,
        hostname: this.hostname,
        status: () => statusDocument(this),
        services: () => this.inputs.map((ri) => ri.inst.name),
        intervalMs: cfg.agent.interval,
      });
      registerOpenTsdbApi(this.router, this.store);
      if (cfg.http.prometheus_prefix !== '') {
        registerPrometheusApi(this.router, this.store, { prefix: cfg.http.prometheus_prefix, timeoutMs: cfg.http.query_timeout, maxSamples: cfg.http.query_max_samples });
      }
      this.http = new HttpServer(this.router, cfg.http, this.logger.child({ component: 'http' }));
      await this.http.listen();
    }

    for (const ri of this.inputs) {
      if (!ri.input.gather) continue;
      const m = ri.ctx.metrics;
      const errors = m.counter('gather_errors', {}, 'Gather calls that failed.');
      const overruns = m.counter('gather_overruns', {}, 'Gathers skipped because the previous one was still running.');
      const duration = m.gauge('gather_duration_ms', {}, 'Duration of the last gather.');
      const gather = ri.input.gather.bind(ri.input);
      ri.task = scheduleAligned(
        ri.interval,
        cfg.agent.jitter,
        async (at) => {
          const t0 = performance.now();
          try {
            const pts = await gather(at);
            if (pts.length > 0) pipeline.emit(ri.source, pts);
          } catch (e) {
            errors.inc();
            m.lastError((e as Error).message);
            ri.ctx.logger.warn('gather failed', { error: e });
          } finally {
            duration.set(performance.now() - t0);
          }
        },
        () => overruns.inc(),
      );
    }

    if (cfg.agent.self_metrics) {
      const src: IngressSource = { id: 'agent', tags: this.globalTags, namePrefix: '' };
      const storeCounts = this.storeMetrics();
      this.tasks.push(
        scheduleAligned(cfg.agent.interval, 0, (at) => void storeCounts().then(() => pipeline.emit(src, this.metrics.snapshot(at)))),
      );
    }
    this.tasks.push(scheduleAligned(cfg.agent.flush_interval, 0, (at) => pipeline.flushProcessors(at)));

    return this.banner();
  }

  /**
   * The store's own counts as self-metrics: points refused (by reason), series refused past
   * `max_series` and forgotten by retention, writes refused while it could not write.
   */
  private storeMetrics(): () => Promise<void> {
    const m = this.metrics;
    const c = {
      future: m.counter('store_points_rejected', { reason: 'future' }, 'Points the store refused, by reason.'),
      series: m.counter('store_points_rejected', { reason: 'series_limit' }, 'Points the store refused, by reason.'),
      other: m.counter('store_points_rejected', { reason: 'out_of_order' }, 'Points the store refused, by reason.'),
      refused: m.counter('store_series_refused', {}, 'New series the store refused past max_series.'),
      forgotten: m.counter('store_series_forgotten', {}, 'Series dropped from memory once retention left no sample of them.'),
      writeErrors: m.counter('store_write_errors', {}, 'Writes the store refused because its log could not be written (disk full).'),
    };
    const series = m.gauge('store_series', {}, 'Series held by the store.');
    const set = (k: { inc(n: number): void; value: number }, v: number | undefined): void => {
      if (v !== undefined && v > k.value) k.inc(v - k.value);
    };
    return async () => {
      const store = this.store;
      if (!store) return;
      try {
        const st = await store.stats();
        set(c.future, st.pointsRejectedFuture);
        set(c.series, st.pointsRejectedSeriesLimit);
        set(c.other, st.pointsRejected - (st.pointsRejectedFuture ?? 0) - (st.pointsRejectedSeriesLimit ?? 0));
        set(c.refused, st.seriesRefused);
        set(c.forgotten, st.seriesForgotten);
        set(c.writeErrors, st.writeErrors);
        series.set(st.series);
      } catch {
        // a closed or moving store: counted next time
      }
    };
  }

  banner(): Banner {
    const listens: string[] = [];
    for (const ri of this.inputs) for (const l of ri.input.describe?.() ?? []) listens.push(`${ri.inst.id}: ${l}`);
    const url = this.http?.url ?? null;
    if (url) listens.unshift(`http api: ${url}`);
    const collects = this.inputs.map((ri) => (ri.input.gather ? `${ri.inst.name} (every ${formatDuration(ri.interval)})` : ri.inst.name));
    const outputs = this.outputs.map((o) => {
      const d = o.output.describe?.() ?? [];
      return d.length ? `${o.id} (${d.join(', ')})` : o.id;
    });
    return { collects, listens, dataDir: this.dataDir, url, outputs, warnings: this.warnings() };
  }

  /** What did not start without stopping the agent (status API, dashboard, banner). */
  warnings(): AgentWarning[] {
    return [...this.warningList];
  }

  /**
   * `sonde run --test`: every input that gathers runs once, through the processors, and the points are
   * returned; nothing is opened (no data dir lock, store, sockets, HTTP or outputs). Receivers (inputs
   * without a gather: receivers, collector scripts) are listed in `skipped`, unless `waitMs` > 0: then
   * they are started too and what they emit within `waitMs` is included (Telegraf's --test-wait). Inputs whose values are differences of two samples
   * (cpu usage) gather twice, half a second apart, and give the second sample.
   */
  async gatherOnce(waitMs = 0): Promise<{ points: Point[]; skipped: string[]; failed: Array<{ id: string; error: string }> }> {
    if (this.started) throw new Error('agent already started');
    this.started = true;
    const cfg = this.config;
    const points: Point[] = [];
    const skipped: string[] = [];
    const failed: Array<{ id: string; error: string }> = [];
    for (const inst of cfg.processors) {
      const ctx = this.context(inst, cfg.agent.interval, () => false);
      this.processors.push({ id: inst.id, processor: (inst.spec as ProcessorSpec).create(inst.config, ctx) });
    }
    const pipeline = new Pipeline(this.processors, [{ push: (p) => void points.push(...p) }], Number.MAX_SAFE_INTEGER, this.metrics, this.logger);
    const gathering: Array<{ ri: RunningInput; gather: (at: number) => Point[] | Promise<Point[]> }> = [];
    for (const inst of cfg.inputs) {
      const interval = (inst.config['interval'] as number | undefined) ?? cfg.agent.interval;
      const source: IngressSource = { id: inst.id, tags: { ...this.globalTags, ...(inst.config['tags'] as Record<string, string>) }, namePrefix: (inst.config['name_prefix'] as string | undefined) ?? '' };
      const ctx = this.context(inst, interval, (pts) => pipeline.emit(source, pts));
      const input = (inst.spec as InputSpec).create(inst.config, ctx);
      const ri: RunningInput = { inst, input, interval, task: null, source, ctx };
      if (!input.gather && waitMs <= 0) {
        skipped.push(inst.id);
        continue;
      }
      this.inputs.push(ri);
      try {
        await input.start?.();
        if (input.gather) gathering.push({ ri, gather: input.gather.bind(input) });
      } catch (e) {
        failed.push({ id: inst.id, error: (e as Error).message });
      }
    }
    const run = async (only: (ri: RunningInput) => boolean, keep: boolean): Promise<void> => {
      const at = Date.now();
      for (const { ri, gather } of gathering) {
        if (!only(ri)) continue;
        try {
          const pts = await gather(at);
          if (keep) pipeline.emit(ri.source, pts);
        } catch (e) {
          if (keep) failed.push({ id: ri.inst.id, error: (e as Error).message });
        }
      }
    };
    const twice = (ri: RunningInput) => TWO_SAMPLE_INPUTS.has(ri.inst.name);
    if (gathering.some((g) => twice(g.ri))) {
      await run(twice, false);
      await new Promise((r) => setTimeout(r, 500));
    }
    await run(() => true, true);
    if (waitMs > 0) await new Promise((r) => setTimeout(r, waitMs));
    const now = Date.now();
    pipeline.drain(now);
    pipeline.flushProcessors(now);
    this.controller.abort();
    for (const ri of this.inputs) await Promise.resolve(ri.input.stop?.()).catch(() => {});
    for (const p of this.processors) await p.processor.stop?.().catch(() => {});
    return { points, skipped, failed };
  }

  /** Plugin instances for the status API and the pipeline page. */
  describePlugins(): Array<{ id: string; kind: string; name: string }> {
    return [
      ...this.inputs.map((i) => ({ id: i.inst.id, kind: 'input', name: i.inst.name })),
      ...this.config.processors.map((p) => ({ id: p.id, kind: 'processor', name: p.name })),
      ...this.config.outputs.map((o) => ({ id: o.id, kind: 'output', name: o.name })),
    ];
  }

  /** Stops inputs, drains the pipeline, flushes outputs (bounded by `deadlineMs`), closes the store. */
  stop(deadlineMs = 10_000): Promise<void> {
    this.stopping ??= this.doStop(deadlineMs);
    return this.stopping;
  }

  private async doStop(deadlineMs: number): Promise<void> {
    for (const t of this.tasks) t.stop();
    for (const ri of this.inputs) ri.task?.stop();
    this.controller.abort();
    await Promise.all(
      this.inputs.map(async (ri) => {
        try {
          await ri.input.stop?.();
        } catch (e) {
          this.logger.warn('input stop failed', { plugin: ri.inst.id, error: e });
        }
      }),
    );
    const now = Date.now();
    if (this.pipeline) {
      this.pipeline.drain(now);
      this.pipeline.flushProcessors(now);
      if (this.config.agent.self_metrics) {
        this.pipeline.emit({ id: 'agent', tags: this.globalTags, namePrefix: '' }, this.metrics.snapshot(now));
        this.pipeline.drain(now);
      }
    }
    await this.alerting?.stop().catch((e: unknown) => this.logger.warn('alerting stop failed', { error: e }));
    await Promise.all(this.runners.map((r) => r.stop(deadlineMs)));
    for (const o of this.outputs) {
      try {
        await o.output.stop?.();
      } catch (e) {
        this.logger.warn('output stop failed', { plugin: o.id, error: e });
      }
    }
    for (const p of this.processors) await p.processor.stop?.().catch(() => {});
    await this.http?.close();
    if (this.store) {
      try {
        await this.store.close();
      } catch (e) {
        this.logger.error('store close failed', { error: e });
      }
    }
    this.lock?.release();
    this.lock = null;
  }
}

/** Inputs whose main values are differences between two samples (`gatherOnce` samples them twice). */
const TWO_SAMPLE_INPUTS = new Set(['cpu']);

export function storeOptions(s: SondeConfig['store']): StoreOptions {
  return {
    retention: s.retention,
    maxBytes: s.max_size,
    rollup1mRetention: s.rollup_1m_retention,
    rollup1hRetention: s.rollup_1h_retention,
    fsync: s.fsync,
    maxSeries: s.max_series,
    maxFuture: s.max_future,
  };
}
