package io.keybroker;

import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.boot.context.properties.ConfigurationPropertiesScan;

/** The broker server's Spring Boot application. */
@SpringBootApplication
@ConfigurationPropertiesScan
public class KeybrokerApplication {
}
