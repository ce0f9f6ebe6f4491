package io.keybroker.listener;

import io.keybroker.config.ConfigurationProblemException;
import io.netty.handler.ssl.ApplicationProtocolConfig;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.JdkSslContext;
import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.OpenSslContextOption;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslProvider;
import io.netty.handler.ssl.SupportedCipherSuiteFilter;
import java.net.Socket;
import java.security.GeneralSecurityException;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Optional;
import java.util.function.Consumer;
import javax.net.ssl.KeyManager;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLException;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509ExtendedKeyManager;
import javax.net.ssl.X509ExtendedTrustManager;

/**
 * The listener's Netty {@link SslContext} on the chosen {@link TlsProperties.Provider}, with the same protocols,
 * cipher suites, client-certificate requirement, key manager and trust manager on every provider: the SPIFFE and
 * trust checks of {@link ReloadingTlsMaterial} run inside the handshake whichever library does the cryptography.
 *
 * <p>BoringSSL is the default where it loads because the JDK's pure-Java TLS is the largest share of a cached
 * read's CPU and almost all of a full handshake's (docs/performance.md has the figures), and because BoringSSL
 * already offers the hybrid post-quantum group that SunJSSE only gets with JDK 27.
 *
 * @param context the context the listener uses
 * @param provider the library actually in force, never {@code AUTO}
 * @param groups the key-exchange groups offered and the library, for the start-up log
 * @param perConnection what to do to each connection's handler before its handshake
 */
public record ListenerSslContexts(SslContext context, TlsProperties.Provider provider, String groups,
        Consumer<SslHandler> perConnection) {

    /**
     * BoringSSL's names for {@link TlsNamedGroups#PREFERRED}, in the same order. Netty hands the list to
     * {@code SSL_CTX_set1_groups_list}, which refuses a list with a name it does not know: the hybrid group is
     * dropped if this BoringSSL build lacks it.
     */
    static final List<String> BORINGSSL_GROUPS = List.of("X25519MLKEM768", "X25519", "P-256", "P-384");

    private static final String[] PROTOCOLS = {"TLSv1.3", "TLSv1.2"};

    /** Builds the context for {@code wanted}; {@code AUTO} takes BoringSSL when its native library loads. */
    public static ListenerSslContexts build(TlsProperties.Provider wanted, X509ExtendedKeyManager keyManager,
            X509ExtendedTrustManager trustManager) throws GeneralSecurityException, SSLException {
        boolean openSsl = switch (wanted) {
            case JDK -> false;
            case AUTO -> OpenSsl.isAvailable();
            case OPENSSL -> {
                if (!OpenSsl.isAvailable()) {
                    throw new ConfigurationProblemException("keybroker.tls.provider=openssl, but BoringSSL "
                            + "(netty-tcnative) does not load on this platform: use keybroker.tls.provider=auto "
                            + "or jdk (cause: " + OpenSsl.unavailabilityCause() + ")");
                }
                yield true;
            }
        };
        return openSsl ? boringSsl(keyManager, trustManager) : jdk(keyManager, trustManager);
    }

    private static ListenerSslContexts boringSsl(X509ExtendedKeyManager keyManager,
            X509ExtendedTrustManager trustManager) throws SSLException {
        SSLException last = null;
        // With the hybrid group first; without it if this BoringSSL build does not know it.
        for (List<String> groups : List.of(BORINGSSL_GROUPS, BORINGSSL_GROUPS.subList(1, BORINGSSL_GROUPS.size()))) {
            try {
                SslContext context = SslContextBuilder.forServer(keyManager)
                        .trustManager(new NoIssuerHints(trustManager))
                        .sslProvider(SslProvider.OPENSSL)
                        .protocols(PROTOCOLS)
                        .ciphers(ListenerConfiguration.CIPHERS, SupportedCipherSuiteFilter.INSTANCE)
                        .clientAuth(ClientAuth.REQUIRE)
                        .option(OpenSslContextOption.GROUPS, groups.toArray(String[]::new))
                        .build();
                return new ListenerSslContexts(context, TlsProperties.Provider.OPENSSL, String.join(",", groups)
                        + " (keybroker.tls.provider: BoringSSL, " + OpenSsl.versionString() + ")", handler -> { });
            } catch (SSLException | IllegalArgumentException ex) {
                last = ex instanceof SSLException ssl ? ssl : new SSLException(ex);
            }
        }
        throw last;
    }

    /**
     * The trust manager as is, except that it names no acceptable issuers. BoringSSL reads that list once, when
     * the context is built, and sends it in every CertificateRequest; clients (the JDK's among them) then offer
     * only a certificate from a listed CA, so a CA added to the trust bundle later would be refused until a
     * restart. With no list, a client sends its certificate and the trust manager decides, against the bundle in
     * force at that handshake, as it does on the JDK provider.
     */
    private static final class NoIssuerHints extends X509ExtendedTrustManager {

        private static final X509Certificate[] NONE = new X509Certificate[0];
        private final X509ExtendedTrustManager delegate;

        NoIssuerHints(X509ExtendedTrustManager delegate) {
            this.delegate = delegate;
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket)
                throws CertificateException {
            delegate.checkClientTrusted(chain, authType, socket);
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
                throws CertificateException {
            delegate.checkClientTrusted(chain, authType, engine);
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
            delegate.checkClientTrusted(chain, authType);
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket)
                throws CertificateException {
            delegate.checkServerTrusted(chain, authType, socket);
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
                throws CertificateException {
            delegate.checkServerTrusted(chain, authType, engine);
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
            delegate.checkServerTrusted(chain, authType);
        }

        @Override
        public X509Certificate[] getAcceptedIssuers() {
            return NONE;
        }
    }

    private static ListenerSslContexts jdk(X509ExtendedKeyManager keyManager, X509ExtendedTrustManager trustManager)
            throws GeneralSecurityException {
        // Netty's JdkSslContext around our own SSLContext, not SslContextBuilder: the builder's JDK server context
        // probes, in a static initialiser, whether it can wrap trust managers by parsing a built-in key with
        // BouncyCastle, which registers BouncyCastle's whole JCA provider (signed jars, so none of it comes from
        // the AOT cache): about 0.3 s of a 2-core start, for a wrapper that only improves client-side messages.
        SSLContext sslContext = SSLContext.getInstance("TLS");
        sslContext.init(new KeyManager[] {keyManager}, new TrustManager[] {trustManager}, null);
        SslContext context = new JdkSslContext(sslContext, false, ListenerConfiguration.CIPHERS,
                SupportedCipherSuiteFilter.INSTANCE, ApplicationProtocolConfig.DISABLED, ClientAuth.REQUIRE,
                PROTOCOLS, false);
        Optional<List<String>> groups = TlsNamedGroups.perConnectionGroups();
        return new ListenerSslContexts(context, TlsProperties.Provider.JDK,
                TlsNamedGroups.describe(groups) + " (keybroker.tls.provider: the JDK's TLS)",
                handler -> groups.ifPresent(g -> TlsNamedGroups.apply(handler.engine(), g)));
    }
}
