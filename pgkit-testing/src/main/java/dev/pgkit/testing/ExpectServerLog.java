package dev.pgkit.testing;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Inherited;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * Declares the server log messages of level WARNING and above that a test provokes on purpose, so
 * that {@link ServerLogCheck} does not fail it for them: a backend terminated with
 * {@code pg_terminate_backend}, a statement that must fail, a server restart.
 *
 * <p>Each value is a part of the message text, matched case-sensitively against the primary line
 * only (not its DETAIL, HINT or STATEMENT): {@code "terminating connection due to administrator command"},
 * not {@code "FATAL"}. Keep the set narrow: every value is a kind of failure the suite stops noticing
 * in that test.
 *
 * <p>On a test method it covers that test (with its {@code @BeforeEach}/{@code @AfterEach} methods);
 * on a test class it covers every test of the class, of its {@code @Nested} classes, and its
 * {@code @BeforeAll}/{@code @AfterAll} methods. An expected message is allowed, not required.
 */
@Documented
@Inherited
@Retention(RetentionPolicy.RUNTIME)
@Target({ElementType.METHOD, ElementType.TYPE})
public @interface ExpectServerLog {
    /** Parts of the messages the test may make the server log. */
    String[] value();
}
