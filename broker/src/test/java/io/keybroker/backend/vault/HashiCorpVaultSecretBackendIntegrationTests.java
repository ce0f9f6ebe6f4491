package io.keybroker.backend.vault;

import io.keybroker.testsupport.OpenBaoServer;
import io.keybroker.testsupport.OpenBaoServer.Admin;
import org.junit.jupiter.api.condition.EnabledIf;
import org.testcontainers.DockerClientFactory;
import org.testcontainers.vault.VaultContainer;

/**
 * The same contract as {@link VaultSecretBackendIntegrationTests}, against HashiCorp Vault itself in a container
 * (Testcontainers). It runs where a Docker engine is available and is skipped, with a message saying so,
 * everywhere else; the OpenBao tests cover the same paths.
 */
@EnabledIf(value = "dockerIsAvailable", disabledReason = "No Docker engine is available, so the HashiCorp Vault "
        + "variant (Testcontainers) is skipped; the OpenBao tests (VaultSecretBackendIntegrationTests) cover the same "
        + "paths")
class HashiCorpVaultSecretBackendIntegrationTests extends VaultBackendContract {

    private static final String IMAGE = "hashicorp/vault:1.18";

    private VaultContainer<?> vault;

    static boolean dockerIsAvailable() {
        return DockerClientFactory.instance().isDockerAvailable();
    }

    private VaultContainer<?> vault() {
        if (vault == null) {
            VaultContainer<?> container = new VaultContainer<>(IMAGE).withVaultToken(OpenBaoServer.ROOT_TOKEN);
            container.start();
            vault = container;
        }
        return vault;
    }

    @Override
    String address() {
        return vault().getHttpHostAddress();
    }

    @Override
    Admin admin() {
        return Admin.of(address(), OpenBaoServer.ROOT_TOKEN, null);
    }

    @Override
    void stopPeer() {
        if (vault != null) {
            vault.stop();
        }
    }
}
