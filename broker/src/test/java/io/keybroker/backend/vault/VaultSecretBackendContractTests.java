package io.keybroker.backend.vault;

import io.keybroker.backend.BackendKind;
import io.keybroker.backend.SecretBackendContract;
import io.keybroker.testsupport.OpenBaoServer;
import java.time.Clock;
import java.time.Duration;
import java.util.Map;

/**
 * The backend contract against a real OpenBao. The backend uses the root token here: the contract is about what
 * the backend does with a store, and writing and listing need more than the broker's read-only policy (the
 * policies themselves are tested in {@link VaultBackendContract} and {@link VaultWriterIntegrationTests}).
 */
class VaultSecretBackendContractTests extends SecretBackendContract {

    private OpenBaoServer server;

    @Override
    protected BackendKind.Opened open() {
        server = OpenBaoServer.start("contract");
        VaultConnection connection = VaultConnection.create(VaultFixtures.token(server.address(),
                OpenBaoServer.ROOT_TOKEN), VaultFixtures.properties());
        return new BackendKind.Opened(new VaultSecretBackend(connection, Clock.systemUTC()), connection);
    }

    @Override
    protected void stopStore() {
        if (server != null) {
            server.close();
        }
    }

    /** Under the default field, which the backend reads when the location names none. */
    @Override
    protected void putValue(String path, String value) {
        server.admin().kvPut(path, Map.of("value", value));
    }

    @Override
    protected void putFields(String path, Map<String, String> fields) {
        server.admin().kvPut(path, fields);
    }

    @Override
    protected BackendKind.Opened unreachableBackend() {
        VaultConnection closed = VaultConnection.create(VaultFixtures.token("http://127.0.0.1:"
                + OpenBaoServer.freePort(), OpenBaoServer.ROOT_TOKEN), VaultFixtures.properties(Duration.ofSeconds(5)));
        return new BackendKind.Opened(new VaultSecretBackend(closed, Clock.systemUTC()), closed);
    }

    @Override
    protected boolean takesWrites() {
        return true;
    }
}
