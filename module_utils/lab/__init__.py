# Copyright: the lab10 tracing kit authors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The lab's shared facts: its criteria, the one vocabulary of verdicts (the doctor's and the grader's),
redaction of credentials in URLs.
"""
