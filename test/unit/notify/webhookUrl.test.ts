import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { checkSettingsAtStart } from '../../../functions/startup.js';
import {
    AZURE_PLATFORM_ADDRESS,
    FETCH_BAD_PORTS,
    INSTANCE_METADATA_ADDRESS,
    webhookUrlProblem,
} from '../../../shared/notify/webhookUrl.js';
import { platformFact } from '../../helpers/platformFacts.js';

const SETTINGS = ['SNATMON_TEAMS_WEBHOOK_URL', 'SNATMON_SLACK_WEBHOOK_URL', 'SNATMON_WEBHOOK_URL'] as const;
const TOKEN = 'T0kEnThatMustNotShow';

/** URLs start-up refuses, with what the message must say. The token in each is the part a log must never show. */
const REFUSED: [url: string, says: RegExp][] = [
    [
        `https://${INSTANCE_METADATA_ADDRESS}/metadata/identity/oauth2/token?t=${TOKEN}`,
        /link-local .*169\.254\.169\.254/,
    ],
    [`https://169.254.10.20/${TOKEN}`, /link-local address \(169\.254\.0\.0\/16/],
    // The URL parser reads these forms as 169.254.169.254 too.
    [`https://2852039166/${TOKEN}`, /link-local/],
    [`https://0xa9.0xfe.0xa9.0xfe/${TOKEN}`, /link-local/],
    [`https://[::ffff:169.254.169.254]/${TOKEN}`, /link-local/],
    [`https://[fe80::1]/${TOKEN}`, /link-local address \(fe80::\/10\)/],
    [`https://${AZURE_PLATFORM_ADDRESS}/${TOKEN}`, /Azure's platform address 168\.63\.129\.16/],
    [`https://0.0.0.0/${TOKEN}`, /unspecified/],
    [`https://[::]/${TOKEN}`, /unspecified/],
    [`https://239.1.2.3/${TOKEN}`, /multicast/],
    [`https://[ff02::1]/${TOKEN}`, /multicast/],
    [`https://255.255.255.255/${TOKEN}`, /reserved or broadcast/],
    [`https://user:${TOKEN}@hooks.example.net/hook`, /without a user name or password .*fetch refuses/],
    [`https://${TOKEN}@hooks.example.net/hook`, /without a user name or password/],
    [`https://hooks.example.net:25/${TOKEN}`, /port 25 is one the Fetch standard blocks/],
    [`http://hooks.example.net/${TOKEN}`, /to be an https URL of/],
    [`ftp://hooks.example.net/${TOKEN}`, /to be an https URL of/],
];

/** Allowed on purpose: private ranges (a receiver in the VNet), loopback for local runs, public hosts. */
const ALLOWED = [
    `https://prod-00.westeurope.logic.azure.com:443/workflows/abc/triggers/manual/paths/invoke?sig=${TOKEN}`,
    `https://hooks.slack.com/services/T000/B000/${TOKEN}`,
    `https://10.1.2.3/hook/${TOKEN}`,
    `https://172.16.0.9:8443/hook`,
    `https://192.168.1.10/hook`,
    `https://[fd12:3456::1]/hook`,
    `https://100.64.0.1/hook`,
    `http://127.0.0.1:9999/hook`,
    `https://[::1]/hook`,
    `https://169.254.example.net/hook`,
];

describe('webhook URL settings at start-up', () => {
    for (const [url, says] of REFUSED) {
        it(`refuses ${url.replace(TOKEN, '<token>')}, naming the setting and not the value`, () => {
            for (const setting of SETTINGS) {
                const lines: string[] = [];
                const env = { [setting]: url, SNATMON_WEBHOOK_SECRET: 'sixteen-characters-or-more' };
                const error = checkSettingsAtStart(env, (line) => lines.push(line));
                assert.equal(error?.setting, setting);
                assert.match(error.message, says);
                assert.match(
                    error.message,
                    new RegExp(`^Expected app setting \`${setting}\` .*\\(value not shown\\)$`),
                );
                assert.equal(lines.length, 1);
                assert.ok(!(lines[0] ?? '').includes(TOKEN), lines[0]);
            }
        });
    }

    for (const url of ALLOWED) {
        it(`accepts ${url.replace(TOKEN, '<token>')}`, () => {
            assert.equal(webhookUrlProblem(url, 'a receiver'), undefined);
            const env = { SNATMON_WEBHOOK_URL: url, SNATMON_WEBHOOK_SECRET: 'sixteen-characters-or-more' };
            assert.equal(
                checkSettingsAtStart(env, () => undefined),
                undefined,
            );
        });
    }

    it('refuses every port the Fetch standard blocks, and fetch does refuse them', async () => {
        for (const port of FETCH_BAD_PORTS) {
            assert.match(webhookUrlProblem(`https://127.0.0.1:${port}/`, 'x') ?? '', /Fetch standard blocks/);
        }
        // Nothing listens there: a request that got past the port check would fail differently (ECONNREFUSED).
        const error = await fetch('http://127.0.0.1:6666/', { method: 'POST', body: '{}' }).then(
            () => undefined,
            (err: unknown) => err as Error & { cause?: Error },
        );
        assert.equal(error?.cause?.message, 'bad port');
    });

    it('refuses credentials in the URL, which fetch would refuse on every attempt', async () => {
        assert.ok(webhookUrlProblem('https://a:b@127.0.0.1/', 'x'));
        await assert.rejects(fetch('https://a:b@127.0.0.1:1/', { method: 'POST', body: '{}' }), {
            name: 'TypeError',
            message: /includes credentials/,
        });
    });

    it('holds the refused addresses to the platform record', () => {
        assert.equal(platformFact('azure.imds.address').value, INSTANCE_METADATA_ADDRESS);
        assert.equal(platformFact('azure.platform.address').value, AZURE_PLATFORM_ADDRESS);
        assert.match(
            webhookUrlProblem(`https://${platformFact('azure.imds.address').value}/`, 'x') ?? '',
            /link-local/,
        );
        assert.match(
            webhookUrlProblem(`https://${platformFact('azure.platform.address').value}/`, 'x') ?? '',
            /platform/,
        );
    });
});
