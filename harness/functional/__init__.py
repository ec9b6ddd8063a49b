"""功能测试: the sample's documented behaviour.

* ``steps`` — the Chinese step library lab engineers write Gherkin scenarios with (pytest-bdd),
  bound to the spec's driver; ``values`` — placeholders (<单笔限额>, <alice.密码>, kept values);
  ``world`` — a scenario's state and evidence (step transcript, screenshots);
* ``scenarios`` — validating feature files against the step library and the spec (FILE:LINE);
  ``collection`` — generating one test per scenario from the spec under test;
* ``conformance`` — Schemathesis against the sample's OpenAPI document, through the driver.

The suite that uses them is ``test_suites/functional``.
"""
