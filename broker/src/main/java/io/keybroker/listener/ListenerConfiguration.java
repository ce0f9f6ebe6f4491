package io.keybroker.listener;

import io.keybroker.api.DirectSecretRead;
import io.keybroker.config.ConfigurationProblemException;
import io.keybroker.identity.WorkloadIdentities;
import io.netty.channel.ChannelOption;
import io.netty.handler.ssl.SslContext;
import java.io.IOException;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ScheduledFuture;
import org.jspecify.annotations.Nullable;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.reactor.netty.NettyServerCustomizer;
import org.springframework.context.SmartLifecycle;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.scheduling.TaskScheduler;

/**
 * The mTLS listener: TLS 1.3 and 1.2 only, ECDHE with AEAD ciphers only on 1.2, the key-exchange groups of
 * {@link TlsNamedGroups}, a client certificate required and checked against the trust bundle and the X.509-SVID
 * rules during the handshake, material re-read on change, and connection buffers wiped on release
 * ({@link WipingByteBufAllocator}). Applies to the API server only; the management server stays plain HTTP on
 * its own port.
 */
@Configuration(proxyBeanMethods = false)
public class ListenerConfiguration {

    /** TLS 1.3 suites, then TLS 1.2 ECDHE suites with AEAD ciphers; nothing else is offered or accepted. */
    static final List<String> CIPHERS = List.of(
            "TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256",
            "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
            "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
            "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256");

    @Bean
    ReloadingTlsMaterial tlsMaterial(TlsProperties tls, ListenProperties listen) {
        List<String> problems = new ArrayList<>();
        require(tls.certificate(), "keybroker.tls.certificate", "the PEM file of the server certificate chain",
                problems);
        require(tls.privateKey(), "keybroker.tls.private-key", "the PEM file of the server private key", problems);
        require(tls.trustBundle(), "keybroker.tls.trust-bundle", "the PEM file of the CA that signs workload "
                + "certificates", problems);
        if (!isLoopback(listen.address())) {
            LoggerFactory.getLogger(ListenerConfiguration.class).warn("keybroker.listen.address {} is not "
                    + "a loopback address: workloads outside this pod or host can reach the listener (mTLS still "
                    + "applies)", listen.address());
        }
        if (!problems.isEmpty()) {
            throw new ConfigurationProblemException(problems);
        }
        try {
            return new ReloadingTlsMaterial(tls.certificate(), tls.privateKey(), tls.trustBundle(),
                    tls.allowSubjectCn());
        } catch (IOException ex) {
            throw new ConfigurationProblemException(ex.getMessage());
        }
    }

    private static void require(Path path, String property, String what, List<String> problems) {
        if (path == null) {
            problems.add(property + " is not set: point it at " + what + " (or run with --keybroker.dev=true for "
                    + "development certificates)");
        }
    }

    static boolean isLoopback(String address) {
        try {
            return InetAddress.getByName(address).isLoopbackAddress();
        } catch (UnknownHostException ex) {
            return false;
        }
    }

    @Bean
    ConnectionLimits connectionLimits(ListenProperties listen, io.micrometer.core.instrument.MeterRegistry registry,
            io.keybroker.audit.AuditLog audit, List<io.keybroker.audit.AccessListener> listeners, Clock clock,
            ObjectProvider<DirectSecretRead> directRead) {
        DirectSecretRead direct = listen.directReads() ? directRead.getObject() : null;
        return new ConnectionLimits(listen, registry, new OverloadGuard(listen.overloadLag(), audit, listeners, clock,
                registry), direct == null ? null : direct::serve);
    }

    @Bean
    MalformedRequests malformedRequests(io.keybroker.audit.AuditLog audit,
            List<io.keybroker.audit.AccessListener> listeners, Clock clock, TlsProperties tls) {
        return new MalformedRequests(audit, listeners, clock, tls.allowSubjectCn());
    }

    @Bean
    HandshakeRefusals handshakeRefusals(io.keybroker.audit.AuditLog audit,
            List<io.keybroker.audit.AccessListener> listeners, Clock clock, TlsProperties tls) {
        return new HandshakeRefusals(audit, listeners, clock, tls.allowSubjectCn());
    }

    @Bean
    NettyServerCustomizer mtlsServerCustomizer(ReloadingTlsMaterial material, ListenProperties listen,
            TlsProperties tls, ConnectionLimits limits, HandshakeRefusals refusals, MalformedRequests malformed,
            WorkloadIdentities identities) throws GeneralSecurityException, IOException {
        ListenerSslContexts ssl = ListenerSslContexts.build(tls.provider(), material.keyManager(),
                material.trustManager(refusals, (engine, chain, snapshot) ->
                        identities.acceptedAtHandshake(engine.getHandshakeSession(), chain, snapshot)));
        SslContext context = ssl.context();
        LoggerFactory.getLogger(ListenerConfiguration.class).info("TLS key-exchange groups of the listener: {}",
                ssl.groups());
        return server -> server
                .childOption(ChannelOption.ALLOCATOR, WipingByteBufAllocator.INSTANCE)
                .idleTimeout(listen.idleTimeout())
                // No Reactor Netty readTimeout/requestTimeout: ConnectionLimits' per-connection deadline covers both
                // (a request must arrive in full within keybroker.listen.read-timeout), and Reactor Netty's
                // request timeout left one scheduled task per request that held the request's whole state until
                // it fired: at 2,600 req/s and 10 s, 55 MiB of live heap (docs/performance.md).
                .httpMessageLogFactory(malformed)
                .childObserve(malformed.observer())
                .doOnChannelInit((observer, channel, remote) -> {
                    limits.onChannelInit(observer, channel, remote);
                    refusals.onChannelInit(observer, channel, remote);
                    malformed.onChannelInit(observer, channel, remote);
                })
                .secure(spec -> spec.sslContext(context).handshakeTimeout(Duration.ofSeconds(10))
                        .handlerConfigurator(ssl.perConnection()));
    }

    @Bean
    WorkloadIdentities workloadIdentities(ReloadingTlsMaterial material, TlsProperties tls, Clock clock) {
        return new WorkloadIdentities(material, tls.allowSubjectCn(), clock);
    }

    @Bean
    TlsReloader tlsReloader(ReloadingTlsMaterial material, TlsProperties tls, TaskScheduler keybrokerScheduler) {
        return new TlsReloader(material, tls.reloadInterval(), keybrokerScheduler);
    }

    /** Polls the TLS files for changes while the broker runs. */
    static final class TlsReloader implements SmartLifecycle {

        private final ReloadingTlsMaterial material;
        private final Duration interval;
        private final TaskScheduler scheduler;
        private @Nullable ScheduledFuture<?> reloads;

        TlsReloader(ReloadingTlsMaterial material, Duration interval, TaskScheduler scheduler) {
            this.material = material;
            this.interval = interval;
            this.scheduler = scheduler;
        }

        @Override
        public synchronized void start() {
            if (reloads != null) {
                return;
            }
            Duration every = Duration.ofMillis(Math.max(100, interval.toMillis()));
            reloads = scheduler.scheduleWithFixedDelay(material::reloadIfChanged, Instant.now().plus(every), every);
        }

        @Override
        public synchronized void stop() {
            if (reloads != null) {
                reloads.cancel(true);
                reloads = null;
            }
        }

        @Override
        public synchronized boolean isRunning() {
            return reloads != null;
        }
    }
}
