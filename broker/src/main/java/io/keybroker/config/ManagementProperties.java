package io.keybroker.config;

import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;

/**
 * The management port ({@code keybroker.management.*}): plain HTTP health probes and Prometheus metrics, no
 * secret value is reachable there. {@code application.yaml} maps these onto {@code management.server.*}.
 *
 * @param address the address to bind; loopback by default. In Kubernetes the kubelet probes from the node, so
 *     the Helm chart binds the pod IP (0.0.0.0) and a NetworkPolicy limits who may connect
 * @param port the management port
 */
@ConfigurationProperties("keybroker.management")
public record ManagementProperties(@DefaultValue("127.0.0.1") String address, @DefaultValue("9090") int port) {
}
