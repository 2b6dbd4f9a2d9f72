/**
 * The CLI's local store: Azurite tables under the user's data directory, started in this process for a run and
 * written to disk when the run ends, one run at a time.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';

import { TableClient } from '@azure/data-tables';

import { startLocalAzurite } from '../../../cli/azurite.js';
import { localStoreDir, openRunStorage } from '../../../cli/localStore.js';
import { loadConfig } from '../../../shared/config.js';

const home = mkdtempSync(join(tmpdir(), 'snatmon-local-store-'));
after(() => {
    rmSync(home, { recursive: true, force: true });
});

function tableOf(connectionString: string): TableClient {
    return TableClient.fromConnectionString(connectionString, 'probe', { allowInsecureConnection: true });
}

describe('local store', () => {
    it('lives under XDG_DATA_HOME, else ~/.local/share, and ignores a relative XDG_DATA_HOME', () => {
        assert.equal(localStoreDir({ XDG_DATA_HOME: '/data', HOME: '/home/me' }), '/data/snat-monitor/azurite');
        assert.equal(localStoreDir({ HOME: '/home/me' }), '/home/me/.local/share/snat-monitor/azurite');
        assert.equal(
            localStoreDir({ XDG_DATA_HOME: 'relative/dir', HOME: '/home/me' }),
            '/home/me/.local/share/snat-monitor/azurite',
        );
    });

    it('keeps rows from one run to the next', async () => {
        const env = { XDG_DATA_HOME: join(home, 'persist') };
        const config = loadConfig({});
        const first = await openRunStorage(config, env);
        assert.equal(first.localDir, join(home, 'persist', 'snat-monitor', 'azurite'));
        assert.equal(first.storage.kind, 'connectionString');
        const connection = first.storage.connectionString;
        assert.match(connection, /TableEndpoint=http:\/\/127\.0\.0\.1:\d+\/devstoreaccount1/);
        const table = tableOf(connection);
        await table.createTable();
        await table.createEntity({ partitionKey: 'p', rowKey: 'r', note: 'from the first run' });
        await first.close();
        assert.ok(existsSync(join(first.localDir ?? '', '__azurite_db_table__.json')));

        const second = await openRunStorage(config, env);
        try {
            const again = tableOf(second.storage.kind === 'connectionString' ? second.storage.connectionString : '');
            const entity = await again.getEntity<{ note: string }>('p', 'r');
            assert.equal(entity.note, 'from the first run');
        } finally {
            await second.close();
        }
    });

    it('lets one run at a time use it, and takes over the lock of a run that died', async () => {
        const env = { XDG_DATA_HOME: join(home, 'lock') };
        const config = loadConfig({});
        const holder = await openRunStorage(config, env);
        try {
            await assert.rejects(openRunStorage(config, env, { lockWaitMs: 300 }), (err: Error) => {
                assert.match(err.message, /is in use by another snat-monitor run \(pid \d+\)/);
                return true;
            });
        } finally {
            await holder.close();
        }
        // A lock file naming a process that no longer exists (pid 2^22 + 1 is above Linux's pid_max).
        const lockFile = join(localStoreDir(env), 'snat-monitor.lock');
        writeFileSync(lockFile, String(2 ** 22 + 1));
        const next = await openRunStorage(config, env, { lockWaitMs: 300 });
        await next.close();
        assert.equal(existsSync(lockFile), false);
    });

    it('is not used when the settings name a storage account', async () => {
        const env = { XDG_DATA_HOME: join(home, 'unused') };
        const config = loadConfig({ AzureWebJobsStorage: 'UseDevelopmentStorage=true' });
        const storage = await openRunStorage(config, env);
        assert.deepEqual(storage.storage, { kind: 'connectionString', connectionString: 'UseDevelopmentStorage=true' });
        assert.equal(storage.localDir, undefined);
        await storage.close();
        assert.equal(existsSync(join(home, 'unused')), false);
    });

    it('runs Azurite in memory with a queue for the demo, and stops serving when stopped', async () => {
        const azurite = await startLocalAzurite({ queue: true });
        assert.match(azurite.queueEndpoint ?? '', /^http:\/\/127\.0\.0\.1:\d+\/devstoreaccount1$/);
        const table = tableOf(azurite.connectionString);
        await table.createTable();
        await azurite.stop();
        await assert.rejects(table.createEntity({ partitionKey: 'p', rowKey: 'r' }), /ECONNREFUSED|connect/i);
    });
});
