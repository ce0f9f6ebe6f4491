package io.keybroker.backend.vault;

import io.keybroker.secret.SecretName;
import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.springframework.cloud.vault.config.VaultProperties;
import org.springframework.cloud.vault.config.VaultProperties.AppRoleProperties;
import org.springframework.cloud.vault.config.VaultProperties.AuthenticationMethod;
import org.springframework.core.io.Resource;
import org.springframework.util.StringUtils;
import org.springframework.vault.authentication.AppRoleAuthentication;
import org.springframework.vault.authentication.AppRoleAuthenticationOptions;
import org.springframework.vault.authentication.AppRoleAuthenticationOptions.RoleId;
import org.springframework.vault.authentication.AppRoleAuthenticationOptions.SecretId;
import org.springframework.vault.authentication.AuthenticationSteps;
import org.springframework.vault.authentication.AuthenticationStepsOperator;
import org.springframework.vault.authentication.ClientCertificateAuthentication;
import org.springframework.vault.authentication.ClientCertificateAuthenticationOptions;
import org.springframework.vault.authentication.KubernetesAuthentication;
import org.springframework.vault.authentication.KubernetesAuthenticationOptions;
import org.springframework.vault.authentication.VaultLoginException;
import org.springframework.vault.authentication.VaultTokenSupplier;
import org.springframework.vault.client.VaultHttpHeaders;
import org.springframework.vault.client.VaultEndpoint;
import org.springframework.vault.support.SslConfiguration;
import org.springframework.vault.support.SslConfiguration.KeyStoreConfiguration;
import org.springframework.vault.support.VaultToken;
import org.springframework.web.reactive.function.client.WebClient;
import reactor.core.publisher.Mono;

/**
 * Turns Spring Cloud Vault's {@code spring.cloud.vault.*} properties into Spring Vault's reactive building blocks:
 * the endpoint, the TLS configuration and a login for TOKEN, APPROLE, KUBERNETES or CERT.
 *
 * <p>This mirrors what Spring Cloud Vault's {@code ClientAuthenticationFactory} and {@code VaultConfiguration}
 * do for those four methods; both are package-private in Spring Cloud Vault, and its auto-configuration would
 * also build an imperative client, a scheduler and a {@code sys/health} indicator the broker does not want
 * (docs/vault.md, "Why the broker builds its own client"). Every check names the property to fix.
 */
final class VaultLogin {

    static final List<AuthenticationMethod> SUPPORTED = List.of(AuthenticationMethod.TOKEN,
            AuthenticationMethod.APPROLE, AuthenticationMethod.KUBERNETES, AuthenticationMethod.CERT);

    private VaultLogin() {
    }

    /** Adds every problem of the Vault connection settings to {@code problems}, each naming its property. */
    static void check(VaultProperties vault, List<String> problems) {
        if (StringUtils.hasText(vault.getUri())) {
            try {
                URI uri = URI.create(vault.getUri());
                if (!("http".equals(uri.getScheme()) || "https".equals(uri.getScheme())) || uri.getHost() == null) {
                    problems.add("spring.cloud.vault.uri '" + printable(vault.getUri()) + "' is not an http(s) URL "
                            + "with a host; set it to Vault's address, e.g. https://vault.example:8200");
                }
            } catch (IllegalArgumentException ex) {
                problems.add("spring.cloud.vault.uri '" + printable(vault.getUri()) + "' is not a valid URL; set it "
                        + "to Vault's address, e.g. https://vault.example:8200");
            }
        }
        AuthenticationMethod method = vault.getAuthentication();
        if (!SUPPORTED.contains(method)) {
            problems.add("spring.cloud.vault.authentication=" + method + " is not supported by Keybroker; use TOKEN, "
                    + "APPROLE, KUBERNETES or CERT (docs/vault.md)");
            return;
        }
        switch (method) {
            case TOKEN -> {
                if (!StringUtils.hasText(vault.getToken())) {
                    problems.add("spring.cloud.vault.token is not set: set the broker's Vault token (for example "
                            + "from the SPRING_CLOUD_VAULT_TOKEN environment variable), or log in with "
                            + "spring.cloud.vault.authentication=APPROLE or KUBERNETES");
                }
            }
            case APPROLE -> {
                AppRoleProperties appRole = vault.getAppRole();
                if (!StringUtils.hasText(appRole.getRoleId()) && !StringUtils.hasText(vault.getToken())) {
                    problems.add("spring.cloud.vault.app-role.role-id is not set: set the AppRole's role id (and "
                            + "spring.cloud.vault.app-role.secret-id unless the role has bind_secret_id=false)");
                }
                if (!StringUtils.hasText(appRole.getAppRolePath())) {
                    problems.add("spring.cloud.vault.app-role.app-role-path is empty: set the AppRole mount path "
                            + "(default approle)");
                }
            }
            case KUBERNETES -> {
                if (!StringUtils.hasText(vault.getKubernetes().getRole())) {
                    problems.add("spring.cloud.vault.kubernetes.role is not set: set the Vault role bound to the "
                            + "broker's service account");
                }
                if (!StringUtils.hasText(vault.getKubernetes().getServiceAccountTokenFile())) {
                    problems.add("spring.cloud.vault.kubernetes.service-account-token-file is empty: set the path "
                            + "of the projected service-account token");
                }
                if (!StringUtils.hasText(vault.getKubernetes().getKubernetesPath())) {
                    problems.add("spring.cloud.vault.kubernetes.kubernetes-path is empty: set the auth mount path "
                            + "(default kubernetes)");
                }
            }
            case CERT -> {
                if (vault.getSsl().getKeyStore() == null) {
                    problems.add("spring.cloud.vault.authentication=CERT needs a client certificate: set "
                            + "spring.cloud.vault.ssl.key-store (a PKCS12 or JKS file with the key and certificate) "
                            + "and spring.cloud.vault.ssl.key-store-password");
                }
            }
            default -> {
            }
        }
        checkStore(vault.getSsl().getKeyStore(), "spring.cloud.vault.ssl.key-store", problems);
        checkStore(vault.getSsl().getTrustStore(), "spring.cloud.vault.ssl.trust-store", problems);
    }

    static VaultEndpoint endpoint(VaultProperties vault) {
        if (StringUtils.hasText(vault.getUri())) {
            return VaultEndpoint.from(URI.create(vault.getUri()));
        }
        VaultEndpoint endpoint = new VaultEndpoint();
        endpoint.setHost(vault.getHost());
        endpoint.setPort(vault.getPort());
        endpoint.setScheme(vault.getScheme());
        return endpoint;
    }

    /** Vault's address for messages, e.g. {@code https://vault.example:8200}. */
    static String address(VaultEndpoint endpoint) {
        return endpoint.getScheme() + "://" + endpoint.getHost() + ":" + endpoint.getPort();
    }

    static SslConfiguration ssl(VaultProperties vault) {
        VaultProperties.Ssl ssl = vault.getSsl();
        KeyStoreConfiguration keyStore = store(ssl.getKeyStore(), ssl.getKeyStorePassword(), ssl.getKeyStoreType());
        KeyStoreConfiguration trustStore = store(ssl.getTrustStore(), ssl.getTrustStorePassword(),
                ssl.getTrustStoreType());
        return new SslConfiguration(keyStore, trustStore, ssl.getEnabledProtocols(), ssl.getEnabledCipherSuites());
    }

    /**
     * The login of the configured method. {@code loginClient} is a client without a session token, on the same
     * connector (so CERT logins present the configured client certificate).
     */
    static VaultTokenSupplier tokenSupplier(VaultProperties vault, WebClient loginClient) {
        return switch (vault.getAuthentication()) {
            case TOKEN -> {
                String token = vault.getToken();
                // Check the token before handing it out: Spring Vault's session manager would otherwise keep a
                // token whose self-lookup failed (Vault down at start) as a plain, never-renewed token. The token
                // stays a plain VaultToken so that the session manager never revokes a configured token.
                yield () -> loginClient.get().uri("auth/token/lookup-self")
                        .header(VaultHttpHeaders.VAULT_TOKEN, token)
                        .retrieve()
                        .toBodilessEntity()
                        .onErrorMap(error -> new VaultLoginException("Token self-lookup failed", error))
                        .then(Mono.fromSupplier(() -> VaultToken.of(token)));
            }
            case APPROLE -> new AuthenticationStepsOperator(appRole(vault), loginClient);
            case KUBERNETES -> new AuthenticationStepsOperator(kubernetes(vault), loginClient);
            case CERT -> {
                ClientCertificateAuthenticationOptions.ClientCertificateAuthenticationOptionsBuilder options =
                        ClientCertificateAuthenticationOptions.builder().path(vault.getSsl().getCertAuthPath());
                if (StringUtils.hasText(vault.getSsl().getRole())) {
                    options.role(vault.getSsl().getRole());
                }
                yield new AuthenticationStepsOperator(
                        ClientCertificateAuthentication.createAuthenticationSteps(options.build()), loginClient);
            }
            default -> throw new IllegalStateException("unsupported authentication " + vault.getAuthentication());
        };
    }

    /** The properties that hold the broker's credentials, for messages about rejected credentials. */
    static String credentials(VaultProperties vault) {
        return switch (vault.getAuthentication()) {
            case TOKEN -> "spring.cloud.vault.token (is the token valid, not expired or revoked, and does it carry "
                    + "Vault's default policy for auth/token/lookup-self?)";
            case APPROLE -> "spring.cloud.vault.app-role.role-id and spring.cloud.vault.app-role.secret-id (does the "
                    + "AppRole exist at auth/" + vault.getAppRole().getAppRolePath() + ", is the secret id still "
                    + "valid?)";
            case KUBERNETES -> "spring.cloud.vault.kubernetes.role, spring.cloud.vault.kubernetes.kubernetes-path "
                    + "(auth/"
                    + vault.getKubernetes().getKubernetesPath() + ") and the service-account token in "
                    + "spring.cloud.vault.kubernetes.service-account-token-file (is the role bound to this service "
                    + "account and audience?)";
            case CERT -> "spring.cloud.vault.ssl.key-store (the client certificate) and the cert auth role at auth/"
                    + vault.getSsl().getCertAuthPath();
            default -> "spring.cloud.vault.authentication";
        };
    }

    private static AuthenticationSteps appRole(VaultProperties vault) {
        AppRoleProperties appRole = vault.getAppRole();
        AppRoleAuthenticationOptions.AppRoleAuthenticationOptionsBuilder options = AppRoleAuthenticationOptions
                .builder().path(appRole.getAppRolePath());
        if (StringUtils.hasText(appRole.getRole())) {
            options.appRole(appRole.getRole());
        }
        // Same precedence as Spring Cloud Vault: a configured id wins; otherwise an initial token pulls the ids
        // (needs read on the role, so not least privilege) or unwraps a response-wrapped one.
        boolean hasToken = StringUtils.hasText(vault.getToken());
        boolean hasRole = StringUtils.hasText(appRole.getRole());
        RoleId roleId = StringUtils.hasText(appRole.getRoleId()) ? RoleId.provided(appRole.getRoleId())
                : hasRole ? RoleId.pull(initialToken(vault)) : RoleId.wrapped(initialToken(vault));
        SecretId secretId = StringUtils.hasText(appRole.getSecretId()) ? SecretId.provided(appRole.getSecretId())
                : !hasToken ? SecretId.absent()
                : hasRole ? SecretId.pull(initialToken(vault)) : SecretId.wrapped(initialToken(vault));
        return AppRoleAuthentication.createAuthenticationSteps(options.roleId(roleId).secretId(secretId).build());
    }

    private static VaultToken initialToken(VaultProperties vault) {
        return VaultToken.of(vault.getToken());
    }

    private static AuthenticationSteps kubernetes(VaultProperties vault) {
        Path tokenFile = Path.of(vault.getKubernetes().getServiceAccountTokenFile());
        KubernetesAuthenticationOptions options = KubernetesAuthenticationOptions.builder()
                .path(vault.getKubernetes().getKubernetesPath())
                .role(vault.getKubernetes().getRole())
                // Read at every login: the kubelet rotates projected tokens, so a token read at start expires.
                .jwtSupplier(() -> readToken(tokenFile))
                .build();
        return KubernetesAuthentication.createAuthenticationSteps(options);
    }

    private static String readToken(Path tokenFile) {
        try {
            return Files.readString(tokenFile, StandardCharsets.US_ASCII).trim();
        } catch (IOException ex) {
            throw new IllegalStateException("cannot read the service-account token file " + tokenFile
                    + " (spring.cloud.vault.kubernetes.service-account-token-file): " + ex.getClass().getSimpleName());
        }
    }

    private static KeyStoreConfiguration store(Resource resource, String password, String type) {
        if (resource == null) {
            return KeyStoreConfiguration.unconfigured();
        }
        KeyStoreConfiguration store = StringUtils.hasText(password)
                ? KeyStoreConfiguration.of(resource, password.toCharArray())
                : KeyStoreConfiguration.of(resource);
        return StringUtils.hasText(type) ? store.withStoreType(type) : store;
    }

    private static void checkStore(Resource resource, String property, List<String> problems) {
        if (resource != null && !resource.exists()) {
            problems.add(property + " " + printable(resource.getDescription()) + " does not exist; set it to a "
                    + "readable file (" + (property.endsWith("trust-store")
                            ? "e.g. file:/etc/keybroker/vault-ca.pem with " + property + "-type=PEM"
                            : "a PKCS12 file, e.g. file:/etc/keybroker/vault-client.p12") + ")");
        }
    }

    private static String printable(String raw) {
        return SecretName.printable(raw);
    }
}
