package io.keybroker.backend.vault;

import io.keybroker.backend.BackendUnavailableException;
import io.keybroker.config.ConfigurationProblemException;
import io.keybroker.secret.SecretName;
import io.netty.handler.timeout.ReadTimeoutException;
import java.net.ConnectException;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeoutException;
import java.util.regex.Pattern;
import javax.net.ssl.SSLException;
import org.jspecify.annotations.Nullable;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.cloud.vault.config.VaultProperties;
import org.springframework.core.io.buffer.DataBuffer;
import org.springframework.core.io.buffer.DataBufferLimitException;
import org.springframework.core.io.buffer.DataBufferUtils;
import org.springframework.http.HttpMethod;
import org.springframework.http.MediaType;
import org.springframework.http.client.reactive.ReactorClientHttpConnector;
import org.springframework.scheduling.TaskScheduler;
import org.springframework.scheduling.concurrent.ThreadPoolTaskScheduler;
import org.springframework.util.StringUtils;
import org.springframework.vault.authentication.CachingVaultTokenSupplier;
import org.springframework.vault.authentication.LifecycleAwareSessionManagerSupport.FixedTimeoutRefreshTrigger;
import org.springframework.vault.authentication.LoginToken;
import org.springframework.vault.authentication.ReactiveLifecycleAwareSessionManager;
import org.springframework.vault.authentication.ReactiveSessionManager;
import org.springframework.vault.authentication.VaultLoginException;
import org.springframework.vault.authentication.VaultTokenSupplier;
import org.springframework.vault.client.ClientHttpConnectorFactory;
import org.springframework.vault.client.VaultEndpoint;
import org.springframework.vault.client.VaultHttpHeaders;
import org.springframework.vault.client.WebClientBuilder;
import org.springframework.vault.core.ReactiveVaultTemplate;
import org.springframework.vault.support.ClientOptions;
import org.springframework.web.reactive.function.BodyExtractors;
import org.springframework.web.reactive.function.client.WebClient;
import org.springframework.web.reactive.function.client.WebClientRequestException;
import org.springframework.web.reactive.function.client.WebClientResponseException;
import reactor.core.Exceptions;
import reactor.core.publisher.Mono;
import reactor.netty.http.client.HttpClient;
import reactor.netty.http.client.PrematureCloseException;
import reactor.util.retry.Retry;

/**
 * The broker's one connection to Vault or OpenBao: Spring Vault's {@link ReactiveVaultTemplate} on Reactor Netty,
 * configured from Spring Cloud Vault's {@code spring.cloud.vault.*} properties, with a session that logs in,
 * renews its token before expiry and logs in again when the token is gone.
 *
 * <p>Every call is bounded by {@code keybroker.vault.timeout} (login included) and fails with a
 * {@link BackendUnavailableException} whose message names Vault's address, what was being done and what to
 * check; it never contains a token or a value. Answers come back as raw bytes ({@link Reply}) so that a caller
 * can pick a value out without making a {@code String} of it, and wipe the bytes afterwards.
 *
 * <p>Creating a connection contacts nothing: a Vault that is down or credentials that are wrong show at the
 * first call (readiness stays down until Vault answers), so the broker never crash-loops on them. Settings that
 * can never work (no token, no role id, an unsupported method) stop start-up with a message naming the
 * property.
 *
 * <pre>{@code
 * try (VaultConnection vault = VaultConnection.fromConfiguration(binder)) {
 *     vault.verify().block();
 * }
 * }</pre>
 */
public final class VaultConnection implements AutoCloseable {

    static final String BACKEND = "vault";

    private static final Pattern MOUNT = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)*");
    private static final byte[] NO_BODY = new byte[0];

    private final VaultProperties vault;
    private final VaultBackendProperties properties;
    private final String address;
    /** Renews the login's token; the server's {@code keybrokerScheduler}, or one of this connection's own. */
    private final TaskScheduler scheduler;
    /** Set when this connection made {@link #scheduler} and must shut it down. */
    private final @Nullable ThreadPoolTaskScheduler ownScheduler;
    private final ResettableSessionManager sessions;
    private final ReactiveVaultTemplate template;

    private VaultConnection(VaultProperties vault, VaultBackendProperties properties,
            @Nullable TaskScheduler shared) {
        this.vault = vault;
        this.properties = properties;
        VaultEndpoint endpoint = VaultLogin.endpoint(vault);
        this.address = VaultLogin.address(endpoint);

        Duration timeout = properties.timeout();
        ClientOptions options = new ClientOptions(min(Duration.ofMillis(vault.getConnectionTimeout()), timeout),
                min(Duration.ofMillis(vault.getReadTimeout()), timeout));
        HttpClient http = ClientHttpConnectorFactory.ReactorNetty.createClient(options, VaultLogin.ssl(vault))
                // Spring Vault sets only the connect timeout on Reactor Netty; without a response timeout a Vault
                // that accepts the connection and then stalls would hold the exchange until keybroker.vault.timeout.
                .responseTimeout(options.getReadTimeout());
        WebClientBuilder clients = WebClientBuilder.builder()
                .httpConnector(new ReactorClientHttpConnector(http))
                .endpoint(endpoint);
        if (StringUtils.hasText(vault.getNamespace())) {
            clients.defaultHeader(VaultHttpHeaders.VAULT_NAMESPACE, vault.getNamespace());
        }
        WebClient loginClient = clients.build();
        VaultTokenSupplier login = VaultLogin.tokenSupplier(vault, loginClient);

        if (shared != null) {
            this.ownScheduler = null;
            this.scheduler = shared;
        } else {
            // A command (rotate, policy diff --backend) runs without the server's scheduler.
            this.ownScheduler = new ThreadPoolTaskScheduler();
            ownScheduler.setPoolSize(1);
            ownScheduler.setThreadNamePrefix("keybroker-vault-session-");
            ownScheduler.setDaemon(true);
            ownScheduler.initialize();
            this.scheduler = ownScheduler;
        }

        VaultProperties.SessionLifecycle lifecycle = vault.getSession().getLifecycle();
        this.sessions = new ResettableSessionManager(() -> lifecycle.isEnabled()
                ? new ReactiveLifecycleAwareSessionManager(login, scheduler, loginClient,
                        new FixedTimeoutRefreshTrigger(lifecycle.getRefreshBeforeExpiry(),
                                lifecycle.getExpiryThreshold()))
                : CachingVaultTokenSupplier.of(login));
        this.template = new ReactiveVaultTemplate(clients, sessions);
    }

    /**
     * Builds the connection without contacting Vault; token renewal runs on a thread of its own.
     * @throws ConfigurationProblemException listing every setting that can never work, each naming its property
     */
    public static VaultConnection create(VaultProperties vault, VaultBackendProperties properties) {
        return create(vault, properties, null);
    }

    /**
     * Builds the connection without contacting Vault; token renewal runs on {@code scheduler} (the server's
     * {@code keybrokerScheduler}, which the caller owns), or on a thread of its own when it is {@code null}.
     * @throws ConfigurationProblemException listing every setting that can never work, each naming its property
     */
    public static VaultConnection create(VaultProperties vault, VaultBackendProperties properties,
            @Nullable TaskScheduler scheduler) {
        List<String> problems = new ArrayList<>();
        VaultLogin.check(vault, problems);
        if (properties.kvMount() == null || !MOUNT.matcher(properties.kvMount()).matches()
                || properties.kvMount().contains("..")) {
            problems.add("keybroker.vault.kv-mount '" + SecretName.printable(String.valueOf(properties.kvMount()))
                    + "' is not a mount path; set the KV version 2 mount, e.g. secret or kv/payments");
        }
        if (!StringUtils.hasText(properties.defaultField())) {
            problems.add("keybroker.vault.default-field is empty; set the KV field holding the value, e.g. value");
        }
        if (properties.timeout() == null || properties.timeout().isNegative() || properties.timeout().isZero()) {
            problems.add("keybroker.vault.timeout must be a positive duration, e.g. 5s");
        }
        if (properties.maxResponseSize() == null || properties.maxResponseSize().toBytes() < 1024
                || properties.maxResponseSize().toBytes() > Integer.MAX_VALUE) {
            problems.add("keybroker.vault.max-response-size must be between 1KB and 2GB, e.g. 1MB");
        }
        if (!problems.isEmpty()) {
            throw new ConfigurationProblemException(problems);
        }
        return new VaultConnection(vault, properties, scheduler);
    }

    /**
     * Binds {@code spring.cloud.vault.*} and {@code keybroker.vault.*} from a configuration (for commands that run
     * without the server, such as {@code keybroker rotate}) and builds the connection.
     */
    public static VaultConnection fromConfiguration(Binder binder) {
        VaultProperties vault = binder.bindOrCreate("spring.cloud.vault", VaultProperties.class);
        VaultBackendProperties properties = binder.bindOrCreate("keybroker.vault", VaultBackendProperties.class);
        return create(vault, properties);
    }

    public VaultBackendProperties properties() {
        return properties;
    }

    /** Vault's address, e.g. {@code https://vault.example:8200}. */
    public String address() {
        return address;
    }

    /**
     * Proves that Vault answers and accepts the broker's credentials, with the cheapest authenticated call a
     * least-privilege token may make: {@code GET auth/token/lookup-self} (granted by Vault's {@code default}
     * policy; no {@code sys/} endpoint, no secret path). Logs in first if there is no session yet.
     */
    public Mono<Void> verify() {
        String action = "look up its own token (auth/token/lookup-self)";
        return get("auth/token/lookup-self", action).flatMap(reply -> {
            reply.wipe();
            if (reply.status() == 200) {
                return Mono.<Void>empty();
            }
            return Mono.error(refused(reply, action, "Vault's default policy (attached to every token unless "
                    + "token_no_default_policy is set) grants it"));
        });
    }

    /** {@code GET <path>} with the session token; see {@link #call}. */
    Mono<Reply> get(String path, String action) {
        return call(HttpMethod.GET, path, null, action);
    }

    /** {@code POST <path>} with a JSON body the caller owns and wipes once the returned Mono terminates. */
    Mono<Reply> post(String path, byte[] body, String action) {
        return call(HttpMethod.POST, path, body, action);
    }

    /**
     * One call with the session token, within {@code keybroker.vault.timeout}. A 403 is looked into: if the token
     * itself no longer works (revoked, expired), the session is dropped and the call made once more after a new
     * login; a 403 that survives that is returned with {@link Reply#tokenRejected()} telling the two causes apart.
     * Transport failures, login failures and timeouts become {@link BackendUnavailableException}s.
     *
     * @param action what the broker was doing, for messages: e.g. {@code read secret/metadata/prod/stripe/key}
     */
    private Mono<Reply> call(HttpMethod method, String path, byte[] body, String action) {
        return Mono.defer(() -> {
            Object generation = sessions.generation();
            return exchange(method, path, body).flatMap(first -> {
                if (first.status() != 403) {
                    return Mono.just(first);
                }
                return tokenWorks().flatMap(works -> {
                    if (works) {
                        return Mono.just(first);
                    }
                    first.wipe();
                    sessions.reset(generation);
                    return exchange(method, path, body).flatMap(second -> second.status() != 403
                            ? Mono.just(second)
                            : tokenWorks().map(again -> again ? second : second.rejected()));
                });
            });
        })
                .timeout(properties.timeout())
                .doOnDiscard(Reply.class, Reply::wipe)
                .onErrorMap(error -> !(error instanceof BackendUnavailableException),
                        error -> unavailable(error, action));
    }

    private Mono<Boolean> tokenWorks() {
        return exchange(HttpMethod.GET, "auth/token/lookup-self", null).map(reply -> {
            // The answer repeats the token itself: wipe it at once.
            reply.wipe();
            return reply.status() != 403;
        });
    }

    /**
     * One request. A GET that finds its pooled connection already closed by Vault (a Vault that restarted or went
     * away since the last call) is sent once more on a new connection: a read is idempotent, and the new
     * connection's own outcome (an answer, or "cannot connect") is the one that tells the operator what is wrong.
     * Writes are not repeated.
     */
    private Mono<Reply> exchange(HttpMethod method, String path, byte[] body) {
        Mono<Reply> once = exchangeOnce(method, path, body);
        return HttpMethod.GET.equals(method)
                ? once.retryWhen(Retry.max(1).filter(error -> has(error, PrematureCloseException.class)))
                        .onErrorMap(Exceptions::isRetryExhausted, error -> error.getCause() == null ? error
                                : error.getCause())
                : once;
    }

    private Mono<Reply> exchangeOnce(HttpMethod method, String path, byte[] body) {
        int limit = Math.toIntExact(properties.maxResponseSize().toBytes());
        return template.doWithSession(client -> {
            WebClient.RequestBodySpec request = client.method(method).uri(path);
            WebClient.RequestHeadersSpec<?> ready = body == null ? request
                    : request.contentType(MediaType.APPLICATION_JSON).bodyValue(body);
            return ready.exchangeToMono(response -> {
                int status = response.statusCode().value();
                return DataBufferUtils.join(response.body(BodyExtractors.toDataBuffers()), limit)
                        .map(VaultConnection::drain)
                        .defaultIfEmpty(NO_BODY)
                        .map(bytes -> new Reply(status, bytes, false));
            });
        });
    }

    /** Copies a joined answer into an array and zeroes the pooled buffer before it goes back to the pool. */
    private static byte[] drain(DataBuffer buffer) {
        try {
            int length = buffer.readableByteCount();
            byte[] bytes = new byte[length];
            buffer.read(bytes);
            try {
                buffer.readPosition(0);
                buffer.writePosition(0);
                buffer.write(new byte[length]);
            } catch (RuntimeException ex) {
                // Best effort: a buffer that cannot be overwritten is still released below.
            }
            return bytes;
        } finally {
            DataBufferUtils.release(buffer);
        }
    }

    /**
     * The error for an answer that is neither a success nor "not found".
     *
     * @param policyAdvice what must grant the call, for a 403 with a working token
     */
    BackendUnavailableException refused(Reply reply, String action, String policyAdvice) {
        String errors = KvJson.errors(reply.body());
        String said = reply.status() + (errors.isEmpty() ? "" : " " + errors);
        String message;
        if (reply.status() == 403 && reply.tokenRejected()) {
            message = "vault: Vault at " + address + " rejected the broker's token (" + said + ") when trying to "
                    + action + ", and the token cannot look itself up, also after a new login with "
                    + "spring.cloud.vault.authentication=" + vault.getAuthentication() + ": check "
                    + VaultLogin.credentials(vault)
                    + "; the token also needs Vault's default policy (do not set token_no_default_policy)";
        } else if (reply.status() == 403) {
            message = "vault: Vault at " + address + " denied the broker's token (" + said + ") when trying to "
                    + action + ": " + policyAdvice;
        } else if (reply.status() >= 500) {
            message = "vault: Vault at " + address + " failed (" + said + ") when the broker tried to " + action
                    + ": check Vault's state (sealed? standby without a reachable active node? storage errors?) and "
                    + "its server log";
        } else {
            message = "vault: Vault at " + address + " answered " + said + " when the broker tried to " + action
                    + ": check that keybroker.vault.kv-mount (" + properties.kvMount() + ") is a KV version 2 "
                    + "mount and that spring.cloud.vault.uri points at Vault's API";
        }
        return new BackendUnavailableException(BACKEND, message);
    }

    /** Maps a failure of the transport, the login or the time limit; never quotes a token or a value. */
    BackendUnavailableException unavailable(Throwable error, String action) {
        String doing = "when the broker tried to " + action;
        if (error instanceof TimeoutException || has(error, ReadTimeoutException.class)) {
            return new BackendUnavailableException(BACKEND, "vault: Vault at " + address + " did not answer within "
                    + properties.timeout().toMillis() + " ms " + doing + ": check Vault's load and the network between "
                    + "the broker and Vault, or raise keybroker.vault.timeout", error);
        }
        if (error instanceof VaultLoginException || (error instanceof IllegalStateException
                && String.valueOf(error.getMessage()).contains("service-account token file"))) {
            return loginFailed(error, doing);
        }
        if (error instanceof DataBufferLimitException) {
            return new BackendUnavailableException(BACKEND, "vault: Vault at " + address + " sent an answer larger "
                    + "than "
                    + "keybroker.vault.max-response-size (" + properties.maxResponseSize() + ") " + doing
                    + ": check the size of the secret, or raise keybroker.vault.max-response-size", error);
        }
        String transport = transport(error);
        if (transport != null) {
            return new BackendUnavailableException(BACKEND, "vault: " + transport + " " + doing, error);
        }
        return new BackendUnavailableException(BACKEND, "vault: unexpected " + error.getClass().getSimpleName()
                + " from Vault at " + address + " " + doing + "; the broker log has the stack trace", error);
    }

    private BackendUnavailableException loginFailed(Throwable error, String doing) {
        String method = "spring.cloud.vault.authentication=" + vault.getAuthentication();
        String transport = transport(error);
        if (transport != null) {
            return new BackendUnavailableException(BACKEND, "vault: login (" + method + ") failed: " + transport + " "
                    + doing, error);
        }
        WebClientResponseException response = find(error, WebClientResponseException.class);
        if (response != null) {
            String errors = KvJson.errors(response.getResponseBodyAsByteArray());
            return new BackendUnavailableException(BACKEND, "vault: Vault at " + address
                    + " refused the broker's login ("
                    + method + ": " + response.getStatusCode().value() + (errors.isEmpty() ? "" : " " + errors) + ") "
                    + doing + ": check " + VaultLogin.credentials(vault), error);
        }
        IllegalStateException file = find(error, IllegalStateException.class);
        String detail = file != null && String.valueOf(file.getMessage()).contains("token file")
                ? file.getMessage() : error.getClass().getSimpleName();
        return new BackendUnavailableException(BACKEND, "vault: login to Vault at " + address + " (" + method
                + ") failed (" + detail + ") " + doing + ": check " + VaultLogin.credentials(vault), error);
    }

    /** Describes a connection-level failure, or {@code null} when {@code error} is not one. */
    private @Nullable String transport(Throwable error) {
        if (has(error, ReadTimeoutException.class)) {
            return "Vault at " + address + " did not answer within " + properties.timeout().toMillis() + " ms; check "
                    + "Vault's load and the network, or raise keybroker.vault.timeout;";
        }
        if (has(error, UnknownHostException.class)) {
            return "the host of Vault's address " + address + " is unknown; check spring.cloud.vault.uri;";
        }
        if (has(error, ConnectException.class)
                || has(error, io.netty.channel.ConnectTimeoutException.class)) {
            return "cannot connect to Vault at " + address + "; check spring.cloud.vault.uri and that Vault runs and "
                    + "is reachable from the broker;";
        }
        SSLException tls = find(error, SSLException.class);
        if (tls != null) {
            return "the TLS handshake with Vault at " + address + " failed (" + SecretName.printable(
                    String.valueOf(tls.getMessage())) + "); check spring.cloud.vault.ssl.trust-store (Vault's CA, "
                    + "trust-store-type=PEM for a PEM file) and that the host in spring.cloud.vault.uri is in Vault's "
                    + "certificate;";
        }
        if (has(error, PrematureCloseException.class) || error instanceof WebClientRequestException) {
            return "the connection to Vault at " + address + " failed (" + rootCause(error).getClass().getSimpleName()
                    + "); check spring.cloud.vault.uri and that Vault runs;";
        }
        return null;
    }

    private static boolean has(Throwable error, Class<? extends Throwable> type) {
        return find(error, type) != null;
    }

    private static <T extends Throwable> @Nullable T find(Throwable error, Class<T> type) {
        for (Throwable t = error; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (type.isInstance(t)) {
                return type.cast(t);
            }
        }
        return null;
    }

    private static Throwable rootCause(Throwable error) {
        Throwable t = error;
        while (t.getCause() != null && t.getCause() != t) {
            t = t.getCause();
        }
        return t;
    }

    private static Duration min(Duration a, Duration b) {
        return a.compareTo(b) <= 0 ? a : b;
    }

    /** The accessor of the current session token (no secret): tests follow renewal and re-login with it. */
    Mono<String> sessionAccessor() {
        return sessions.getSessionToken().map(token -> token instanceof LoginToken login
                && login.getAccessor() != null ? login.getAccessor() : "");
    }

    /**
     * Stops token renewal and revokes a token the broker obtained by logging in; a configured token
     * ({@code spring.cloud.vault.token}) is left alone.
     */
    @Override
    public void close() {
        try {
            sessions.close();
        } finally {
            if (ownScheduler != null) {
                ownScheduler.shutdown();
            }
        }
    }

    /**
     * One answer of Vault.
     *
     * @param status the HTTP status
     * @param body the raw body; wipe it when done
     * @param tokenRejected for a 403: the token itself does not work, even after a new login
     */
    record Reply(int status, byte[] body, boolean tokenRejected) {

        Reply rejected() {
            return new Reply(status, body, true);
        }

        void wipe() {
            Arrays.fill(body, (byte) 0);
        }

        @Override
        public String toString() {
            return "Reply[status=" + status + ", body=" + body.length + " bytes]";
        }
    }
}
