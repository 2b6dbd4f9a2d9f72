/**
 * A real OpenTelemetry SDK meter provider whose reader exports into memory: what the product records, as an
 * exporter would receive it, with the product's own views (cardinality limits) applied. Delta temporality, as the
 * Azure Monitor exporter selects for gauges: each recorded value is exported once, in the next collection.
 */
import type { Attributes, Meter } from '@opentelemetry/api';
import {
    AggregationTemporality,
    InMemoryMetricExporter,
    MeterProvider,
    PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics';

import { METER_NAME, snatMetricViews } from '../../shared/telemetry/snatMetrics.js';

export interface Point {
    value: number;
    attributes: Attributes;
}

export class MemoryMetrics {
    readonly meter: Meter;
    private readonly exporter = new InMemoryMetricExporter(AggregationTemporality.DELTA);
    private readonly reader: PeriodicExportingMetricReader;
    private readonly provider: MeterProvider;
    /** Every point exported so far, by instrument name. */
    private readonly exported = new Map<string, Point[]>();

    constructor() {
        // The interval never fires in a test: collect() forces each export.
        this.reader = new PeriodicExportingMetricReader({ exporter: this.exporter, exportIntervalMillis: 3_600_000 });
        this.provider = new MeterProvider({ readers: [this.reader], views: snatMetricViews() });
        this.meter = this.provider.getMeter(METER_NAME);
    }

    /** Exports now; every point of instrument `name` exported since this provider started. */
    async points(name: string): Promise<Point[]> {
        await this.reader.forceFlush();
        for (const resourceMetrics of this.exporter.getMetrics()) {
            for (const scope of resourceMetrics.scopeMetrics) {
                for (const metric of scope.metrics) {
                    const points = this.exported.get(metric.descriptor.name) ?? [];
                    for (const point of metric.dataPoints) {
                        points.push({ value: point.value as number, attributes: point.attributes });
                    }
                    this.exported.set(metric.descriptor.name, points);
                }
            }
        }
        this.exporter.reset();
        return [...(this.exported.get(name) ?? [])];
    }

    shutdown(): Promise<void> {
        return this.provider.shutdown();
    }
}
