/**
 * Opt-in OpenTelemetry tracing (COLLECTOR_TRACING=otlp): the Temporal interceptors give a span per
 * workflow run (exported from the workflow sandbox through a sink) and per activity attempt, linked
 * across workers by headers; the activities add the collector, window, rows and bytes as attributes.
 * The OTLP/HTTP exporter reads the standard OTEL_EXPORTER_OTLP_* variables; the resource honours
 * OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES.
 */
import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { Resource, envDetectorSync } from '@opentelemetry/resources';
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  SimpleSpanProcessor,
  type SpanExporter,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { OpenTelemetryPlugin } from '@temporalio/interceptors-opentelemetry';
import { parseTracingMode, settingsFor, type Env, type TracingMode } from '../settings';
import { TOOL_NAME, TOOL_VERSION, BUILD_ID } from '../version';

export interface Tracing {
  /** Add to every Worker (CollectorPlugin passes its interceptors on to the host-queue companion). */
  plugin: OpenTelemetryPlugin;
  /** Flushes pending spans; call once the workers have stopped. */
  shutdown(): Promise<void>;
}

export type { TracingMode };

/** `--tracing` when given, else COLLECTOR_TRACING. */
export function tracingMode(env?: Env, flag?: string): TracingMode {
  return flag !== undefined ? parseTracingMode(flag) : settingsFor(env).tracing;
}

/**
 * Installs a tracer provider for the process (global: once per process) and returns the Temporal plugin.
 * `exporter` replaces OTLP, e.g. an InMemorySpanExporter in tests.
 */
export function setupTracing(options: { exporter?: SpanExporter } = {}): Tracing {
  const resource = new Resource({ 'service.name': TOOL_NAME, 'service.version': TOOL_VERSION, 'collector.build_id': BUILD_ID }).merge(
    envDetectorSync.detect(),
  );
  // Batching for the network; a test exporter sees each span as it ends.
  const processor: SpanProcessor = options.exporter
    ? new SimpleSpanProcessor(options.exporter)
    : new BatchSpanProcessor(new OTLPTraceExporter());
  const provider = new BasicTracerProvider({ resource, spanProcessors: [processor] });
  // Without a real context manager, the activity span would not be "active" inside the activity.
  provider.register({ contextManager: new AsyncLocalStorageContextManager().enable() });
  return {
    plugin: new OpenTelemetryPlugin({ resource, spanProcessor: processor, tracer: trace.getTracer(TOOL_NAME, TOOL_VERSION) }),
    async shutdown() {
      await provider.shutdown();
      context.disable();
      trace.disable();
    },
  };
}
