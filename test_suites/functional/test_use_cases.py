"""功能测试: each use case the sample's user documentation describes (rule 001 §8.1.2), run as the
scenarios of the feature file the spec links to it (documentation.use_cases[].scenario).

The tests are generated from the spec under test at collection time; each is marked with its use
case's ID, so the plan and the report's 功能测试 section find it.
"""

from harness.functional.collection import generate

generate(globals())
