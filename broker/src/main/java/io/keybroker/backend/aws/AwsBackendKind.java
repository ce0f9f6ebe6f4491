package io.keybroker.backend.aws;

import io.keybroker.backend.BackendKind;
import java.util.ArrayList;
import java.util.List;
import org.springframework.boot.context.properties.bind.Binder;

/** The {@code aws} backend kind: AWS Secrets Manager. */
public final class AwsBackendKind implements BackendKind {

    @Override
    public String id() {
        return AwsSecretBackend.ID;
    }

    @Override
    public Opened open(Binder binder) {
        AwsSecretBackend backend = create(binder.bindOrCreate("keybroker.aws", AwsProperties.class));
        return new Opened(backend, backend);
    }

    /** The primary region's client first, then each fallback region's; the server and commands share it. */
    static AwsSecretBackend create(AwsProperties properties) {
        AwsClients clients = new AwsClients(properties);
        try {
            List<AwsSecretBackend.RegionClient> regions = new ArrayList<>();
            regions.add(new AwsSecretBackend.RegionClient(properties.region(), clients.primary()));
            for (String fallback : properties.fallbackRegions()) {
                regions.add(new AwsSecretBackend.RegionClient(fallback, clients.forRegion(fallback)));
            }
            return new AwsSecretBackend(regions, clients);
        } catch (RuntimeException ex) {
            clients.close();
            throw ex;
        }
    }
}
