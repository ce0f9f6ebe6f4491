package io.keybroker.testsupport;

import io.keybroker.KeybrokerApplication;
import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.web.server.context.WebServerApplicationContext;
import org.springframework.context.ConfigurableApplicationContext;

/** A whole broker started in this JVM with the given properties, on random ports. */
public final class RunningBroker implements AutoCloseable {

    private final ConfigurableApplicationContext context;

    private RunningBroker(ConfigurableApplicationContext context) {
        this.context = context;
    }

    public static RunningBroker start(Map<String, String> properties, Class<?>... extraSources) {
        List<String> args = new ArrayList<>();
        properties.forEach((k, v) -> args.add("--" + k + "=" + v));
        List<Class<?>> sources = new ArrayList<>(List.of(KeybrokerApplication.class));
        sources.addAll(List.of(extraSources));
        SpringApplication application = new SpringApplication(sources.toArray(Class<?>[]::new));
        return new RunningBroker(application.run(args.toArray(String[]::new)));
    }

    public int port() {
        return ((WebServerApplicationContext) context).getWebServer().getPort();
    }

    public int managementPort() {
        return Integer.parseInt(context.getEnvironment().getProperty("local.management.port"));
    }

    public URI uri(String path) {
        return URI.create("https://127.0.0.1:" + port() + path);
    }

    public URI management(String path) {
        return URI.create("http://127.0.0.1:" + managementPort() + path);
    }

    public <T> T bean(Class<T> type) {
        return context.getBean(type);
    }

    public ConfigurableApplicationContext context() {
        return context;
    }

    @Override
    public void close() {
        context.close();
    }
}
