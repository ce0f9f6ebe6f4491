package io.keybroker.backend.vault;

import io.keybroker.backend.BackendKind;
import java.time.Clock;
import org.springframework.boot.context.properties.bind.Binder;

/** The {@code vault} backend kind: KV version 2 on HashiCorp Vault or OpenBao. */
public final class VaultBackendKind implements BackendKind {

    @Override
    public String id() {
        return VaultConnection.BACKEND;
    }

    @Override
    public Opened open(Binder binder) {
        VaultConnection connection = VaultConnection.fromConfiguration(binder);
        return new Opened(new VaultSecretBackend(connection, Clock.systemUTC()), connection);
    }
}
