import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import { LABEL, METRIC } from '../../../shared/telemetry/snatMetrics.js';
import { repoRoot } from '../../helpers/paths.js';
import { platformFact } from '../../helpers/platformFacts.js';
import { at, body, declaration, evaluate, infraFile, parts } from './bicep.js';

const monitoringDir = join(repoRoot, 'infra', 'monitoring');

interface Query {
    title: string;
    query: string;
}

/** infra/monitoring/snat-metrics.kql: a `// title` line, the query, a blank line; the file's own header first. */
function kqlQueries(): Query[] {
    const text = readFileSync(join(monitoringDir, 'snat-metrics.kql'), 'utf8');
    return text
        .trim()
        .split(/\n\s*\n/)
        .slice(1)
        .map((block) => {
            const [title = '', ...lines] = block.split('\n');
            assert.match(title, /^\/\/ \S/, `a query starts with its title: ${block}`);
            return { title: title.slice(3), query: lines.join('\n') };
        });
}

interface WorkbookItem {
    type: number;
    content: { version?: string; query?: string; title?: string; queryType?: number; resourceType?: string };
}

function workbook(): { version: string; items: WorkbookItem[]; fallbackResourceIds: string[] } {
    return JSON.parse(readFileSync(join(monitoringDir, 'snat-workbook.json'), 'utf8')) as ReturnType<typeof workbook>;
}

function workbookQueries(): string[] {
    return workbook()
        .items.filter((item) => item.type === 3)
        .map((item) => item.content.query ?? '');
}

const KNOWN_METRICS = new Set<string>(Object.values(METRIC));
const KNOWN_LABELS = new Set<string>(Object.values(LABEL));

describe('metrics queries and workbook (infra/monitoring)', () => {
    it('query only the metrics and labels the app exports, in the table the exporter writes', () => {
        const [, , table, dimensions] = platformFact('appinsights.metric-envelope').values;
        const queries = kqlQueries();
        assert.ok(queries.length >= 3, `${queries.length} queries`);
        const used = new Set<string>();
        for (const { title, query } of queries) {
            assert.ok(query.startsWith(`${table}\n`), `${title}: reads ${table ?? ''}`);
            const names = [...query.matchAll(/"(snatmon\.[a-z_]+\.[a-z_.]+)"/g)].map((m) => m[1] ?? '');
            assert.ok(names.length > 0, `${title}: names a metric`);
            for (const name of names) {
                assert.ok(KNOWN_METRICS.has(name), `${title}: unknown metric ${name}`);
                used.add(name);
            }
            for (const [, label = ''] of query.matchAll(new RegExp(`${dimensions ?? ''}\\["([^"]+)"\\]`, 'g'))) {
                assert.ok(KNOWN_LABELS.has(label), `${title}: unknown label ${label}`);
            }
        }
        assert.deepEqual([...used].sort(), [...KNOWN_METRICS].sort(), 'every exported metric has a query');
    });

    it('use the Application Insights column names of customMetrics, not the workspace ones', () => {
        const fact = platformFact('appinsights.custom-metrics-columns');
        const [table, timestamp, name, value, dimensions, workspaceTable, ...workspaceColumns] = fact.values;
        const queries = [...kqlQueries().map((q) => q.query), ...workbookQueries()];
        assert.ok(queries.length >= 6, `${queries.length} queries`);
        for (const query of queries) {
            assert.ok(query.startsWith(`${table ?? ''}\n`), query);
            for (const column of [timestamp, name, value, dimensions]) {
                assert.match(query, new RegExp(`\\b${column ?? ''}\\b`), `uses ${column ?? ''}: ${query}`);
            }
            for (const column of [workspaceTable, ...workspaceColumns]) {
                assert.doesNotMatch(
                    query,
                    new RegExp(`\\b${column ?? ''}\\b`),
                    `${column ?? ''} is the workspace name`,
                );
            }
        }
    });

    it('the workbook holds the same queries, as query items over Application Insights', () => {
        const [, , , version] = platformFact('workbooks.resource').values;
        const book = workbook();
        assert.equal(book.version, version);
        const queries = book.items.filter((item) => item.type === 3).map((item) => item.content);
        assert.deepEqual(
            queries.map((q) => ({ title: q.title, query: q.query })),
            kqlQueries(),
        );
        for (const query of queries) {
            assert.equal(query.version, 'KqlItem/1.0');
            assert.equal(query.resourceType, 'microsoft.insights/components');
        }
        assert.deepEqual(book.fallbackResourceIds, ['{applicationInsightsId}']);
    });

    it('is an opt-in that azd up leaves out by default, deploying that workbook against the app insights', async () => {
        const main = await infraFile('main.bicep');
        const enabled = declaration(main, 'param', 'metricsWorkbookEnabled');
        assert.ok(enabled.value);
        assert.equal(evaluate(main, enabled.value), false);
        const module = declaration(main, 'module', 'metricsWorkbook');
        assert.equal(module.target, 'app/workbook.bicep');
        assert.equal(module.value?.type, 'if_statement');
        assert.equal(parts(module.value)[0]?.text, '(metricsWorkbookEnabled)');
        const parameters = readFileSync(join(repoRoot, 'infra', 'main.parameters.json'), 'utf8');
        assert.match(
            parameters,
            /"metricsWorkbookEnabled": \{ "value": "\$\{SNATMON_METRICS_WORKBOOK_ENABLED=false\}" \}/,
        );

        const [type, kind, category, notebook] = platformFact('workbooks.resource').values;
        const file = await infraFile('app/workbook.bicep');
        const resource = declaration(file, 'resource', 'workbook');
        assert.match(resource.target ?? '', new RegExp(`^${(type ?? '').replace('.', '\\.')}@`));
        const node = body(file, resource);
        assert.equal(evaluate(file, at(file, node, 'kind')), kind);
        assert.equal(evaluate(file, at(file, node, 'properties', 'category')), category);
        assert.equal(evaluate(file, at(file, node, 'properties', 'version')), notebook);
        assert.equal(at(file, node, 'properties', 'sourceId').text, 'applicationInsights.id');
        assert.equal(
            at(file, node, 'properties', 'serializedData').text,
            "replace(loadTextContent('../monitoring/snat-workbook.json'), '{applicationInsightsId}', applicationInsights.id)",
        );
        assert.match(at(file, node, 'name').text, /^guid\(/);
    });
});
