package io.keybroker.stripe;

import io.keybroker.config.ConfigurationProblemException;
import io.keybroker.listener.WipingByteBufAllocator;
import io.netty.channel.ChannelOption;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import javax.net.ssl.SSLException;
import org.springframework.beans.factory.DisposableBean;
import org.springframework.stereotype.Component;
import reactor.netty.http.client.HttpClient;
import reactor.netty.resources.ConnectionProvider;

/**
 * The one HTTP client the broker uses to call Stripe: Reactor Netty with one bounded keep-alive pool
 * ({@code keybroker.stripe.max-connections}) shared by every workload, the configured timeouts, and TLS that
 * trusts the JDK's trust store or, for a test peer, the CAs of {@code keybroker.stripe.trust-bundle}; never
 * anything else (there is no trust-all switch, and host names are verified).
 *
 * <p>Its buffers come from the broker's wiping allocator: the request headers, {@code Authorization} included,
 * are encoded into a buffer that is zeroed when Netty releases it, rather than returned to a pool unwiped.
 */
@Component
public class StripeHttp implements DisposableBean {

    private final ConnectionProvider pool;
    private final HttpClient client;
    private final StripeProperties properties;

    public StripeHttp(StripeProperties properties) {
        this.properties = properties;
        this.pool = ConnectionProvider.builder("keybroker-stripe")
                .maxConnections(properties.maxConnections())
                .pendingAcquireTimeout(properties.pendingAcquireTimeout())
                .pendingAcquireMaxCount(properties.maxConnections() * 16)
                .maxIdleTime(properties.maxIdleTime())
                .build();
        HttpClient http = HttpClient.create(pool)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) Math.min(Integer.MAX_VALUE,
                        properties.connectTimeout().toMillis()))
                .option(ChannelOption.ALLOCATOR, WipingByteBufAllocator.INSTANCE)
                .responseTimeout(properties.responseTimeout())
                .followRedirect(false)
                .keepAlive(true);
        if ("https".equals(properties.apiBase().getScheme())) {
            SslContext ssl = sslContext(properties);
            // The handshake counts as connecting: without this, Reactor Netty's own 10 s handshake timeout applies.
            http = http.secure(spec -> spec.sslContext(ssl).handshakeTimeout(properties.connectTimeout()));
        }
        this.client = http;
    }

    private static SslContext sslContext(StripeProperties properties) {
        try {
            SslContextBuilder builder = SslContextBuilder.forClient().protocols("TLSv1.3", "TLSv1.2");
            if (properties.trustBundle() != null) {
                builder.trustManager(readBundle(properties));
            }
            return builder.build();
        } catch (SSLException ex) {
            throw new ConfigurationProblemException("keybroker.stripe.trust-bundle: cannot set up TLS to "
                    + properties.apiBase() + " (" + ex.getClass().getSimpleName() + ")");
        }
    }

    private static X509Certificate[] readBundle(StripeProperties properties) {
        try (InputStream in = Files.newInputStream(properties.trustBundle())) {
            X509Certificate[] certificates = CertificateFactory.getInstance("X.509").generateCertificates(in)
                    .stream().map(X509Certificate.class::cast).toArray(X509Certificate[]::new);
            if (certificates.length == 0) {
                throw new ConfigurationProblemException("keybroker.stripe.trust-bundle: " + properties.trustBundle()
                        + " holds no PEM certificate; give the CA certificate(s) of keybroker.stripe.api-base");
            }
            return certificates;
        } catch (IOException | CertificateException ex) {
            throw new ConfigurationProblemException("keybroker.stripe.trust-bundle: cannot read "
                    + properties.trustBundle() + " as PEM certificates (" + ex.getClass().getSimpleName()
                    + "); give a readable PEM file of the CA certificate(s) of keybroker.stripe.api-base");
        }
    }

    /** The client; every call goes through its one pool. */
    public HttpClient client() {
        return client;
    }

    /** {@code keybroker.stripe.api-base} without a trailing slash. */
    public String base() {
        return properties.base();
    }

    @Override
    public void destroy() {
        pool.dispose();
    }
}
