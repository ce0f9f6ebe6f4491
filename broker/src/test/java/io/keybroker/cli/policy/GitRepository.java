package io.keybroker.cli.policy;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** A real git repository in a temporary directory, driven with the git command line, for the review commands. */
record GitRepository(Path dir) {

    static GitRepository init(Path dir) throws IOException {
        Files.createDirectories(dir);
        GitRepository repo = new GitRepository(dir);
        repo.git("init", "-q", "-b", "main");
        return repo;
    }

    /** Writes a file (relative to the repository) and stages it. */
    GitRepository write(String path, String content) throws IOException {
        Path file = dir.resolve(path);
        Files.createDirectories(file.getParent());
        Files.writeString(file, content);
        git("add", path);
        return this;
    }

    GitRepository remove(String path) {
        git("rm", "-q", path);
        return this;
    }

    GitRepository commit(String message) {
        git("commit", "-q", "-m", message);
        return this;
    }

    /** Runs git in the repository with a fixed author; fails the test when git fails. */
    String git(String... args) {
        List<String> command = new ArrayList<>(List.of("git", "-C", dir.toString(), "-c", "user.name=Policy Review",
                "-c", "user.email=review@example.com", "-c", "commit.gpgsign=false"));
        command.addAll(List.of(args));
        try {
            Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
            String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertThat(process.waitFor()).as("git %s: %s", String.join(" ", args), output).isZero();
            return output;
        } catch (IOException ex) {
            throw new IllegalStateException("git cannot be run; the review tests need git on PATH", ex);
        } catch (InterruptedException ex) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(ex);
        }
    }
}
