# Copyright: the lab10 tracing kit authors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Jaeger client of jaeger_trace: HTTP (query, parse) -> spans (model) -> the match (match)
-> the words (verdict); check runs the poll loop.
"""
