/**
 * @module Turns zod issues into one line a person can act on, naming each bad field.
 */
import type { z } from 'zod';

function describeIssue(issue: z.core.$ZodIssue): string {
  const path = issue.path.length > 0 ? issue.path.map(String).join('.') : 'body';
  if (issue.code === 'invalid_type') {
    const received = /received (\w+)/.exec(issue.message)?.[1];
    if (received === 'undefined') return `${path} is required`;
    return `${path} must be ${issue.expected === 'object' ? 'a JSON object' : `a ${issue.expected}`}${received ? `, got ${received}` : ''}`;
  }
  return `${path} ${issue.message.replace(/^Invalid input: /, '')}`;
}

/** `NetworkID is required; Options must be a record, got number` */
export function describeIssues(error: z.ZodError): string {
  return error.issues.slice(0, 5).map(describeIssue).join('; ');
}
