package io.keybroker.backend.aws;

import io.keybroker.backend.BackendKind;
import io.keybroker.backend.SecretBackendContract;
import io.keybroker.testsupport.OpenBaoServer;
import io.keybroker.testsupport.PeerProcess;
import java.net.URI;
import java.util.List;
import java.util.Map;
import software.amazon.awssdk.services.secretsmanager.SecretsManagerAsyncClient;
import software.amazon.awssdk.services.secretsmanager.model.ResourceNotFoundException;
import tools.jackson.databind.json.JsonMapper;

/** The backend contract against a real moto standing in for Secrets Manager. */
class AwsSecretBackendContractTests extends SecretBackendContract {

    private static final JsonMapper JSON = JsonMapper.builder().build();

    private PeerProcess moto;
    private SecretsManagerAsyncClient admin;

    @Override
    protected BackendKind.Opened open() {
        moto = PeerProcess.moto();
        // The backend takes credentials from the SDK's default chain; system properties are part of it.
        System.setProperty("aws.accessKeyId", "testing");
        System.setProperty("aws.secretAccessKey", "testing");
        admin = moto.secretsManager("us-east-1");
        AwsSecretBackend backend = AwsSecretBackendIntegrationTests.backend(Map.of("us-east-1", moto));
        return new BackendKind.Opened(backend, backend);
    }

    @Override
    protected void stopStore() {
        try {
            if (admin != null) {
                admin.close();
            }
        } finally {
            if (moto != null) {
                moto.close();
            }
            System.clearProperty("aws.accessKeyId");
            System.clearProperty("aws.secretAccessKey");
        }
    }

    /** CreateSecret the first time, then PutSecretValue, which moves AWSCURRENT and AWSPREVIOUS. */
    @Override
    protected void putValue(String path, String value) {
        try {
            admin.describeSecret(b -> b.secretId(path)).join();
            admin.putSecretValue(b -> b.secretId(path).secretString(value)).join();
        } catch (java.util.concurrent.CompletionException ex) {
            if (!(ex.getCause() instanceof ResourceNotFoundException)) {
                throw ex;
            }
            admin.createSecret(b -> b.name(path).secretString(value)).join();
        }
    }

    @Override
    protected void putFields(String path, Map<String, String> fields) {
        putValue(path, JSON.writeValueAsString(fields));
    }

    @Override
    protected BackendKind.Opened unreachableBackend() {
        AwsSecretBackend closed = AwsBackendKind.create(new AwsProperties("us-east-1",
                URI.create("http://127.0.0.1:" + OpenBaoServer.freePort()), List.of(), Map.of()));
        return new BackendKind.Opened(closed, closed);
    }

    @Override
    protected boolean takesWrites() {
        return true;
    }
}
