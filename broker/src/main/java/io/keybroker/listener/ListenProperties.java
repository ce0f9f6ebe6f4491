package io.keybroker.listener;

import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;

/**
 * The mTLS listener ({@code keybroker.listen.*}).
 *
 * @param address the address to bind; loopback by default so only the pod's own containers can connect
 * @param port the HTTPS port
 */
@ConfigurationProperties("keybroker.listen")
public record ListenProperties(@DefaultValue("127.0.0.1") String address, @DefaultValue("8443") int port) {
}
