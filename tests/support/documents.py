"""A policy document for upload and replacement tests."""

POLICY_DOC = b"""---
title: GPU Reservation Policy
owner: Platform Engineering
version: "1.0"
effective: 2026-06-01
classification: internal
---
# GPU Reservation Policy

## Reservations
GPU reservations longer than 30 days need a capacity plan reviewed by Platform Engineering.
"""
