package io.keybroker.backend.vault;

import io.keybroker.backend.BackendKind;
import io.keybroker.backend.SecretBackend;
import io.keybroker.backend.SecretBackendContract;
import io.keybroker.testsupport.OpenBaoServer;
import java.time.Clock;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/**
 * The backend contract against a real OpenBao. The backend uses the root token here: the contract is about what
 * the backend does with a store, and writing and listing need more than the broker's read-only policy (the
 * policies themselves are tested in {@link VaultBackendContract} and {@link VaultWriterIntegrationTests}).
 */
class VaultSecretBackendContractTests extends SecretBackendContract {

    private OpenBaoServer server;
    private VaultConnection connection;
    private VaultSecretBackend backend;

    @BeforeAll
    void startAndConnect() {
        server = OpenBaoServer.start("contract");
        connection = VaultConnection.create(VaultFixtures.token(server.address(), OpenBaoServer.ROOT_TOKEN),
                VaultFixtures.properties());
        backend = new VaultSecretBackend(connection, Clock.systemUTC());
    }

    @AfterAll
    void disconnectAndStop() {
        try {
            connection.close();
        } finally {
            server.close();
        }
    }

    @Override
    protected SecretBackend backend() {
        return backend;
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
