import { describe, expect, it } from 'vitest';
import { ago, humanDuration, renderTemplate } from './format.js';
import { refusal } from '../testing/refusal.js';

describe('format', () => {
  it('says durations in docker’s words', () => {
    expect(humanDuration(500)).toBe('Less than a second');
    expect(humanDuration(3_000)).toBe('3 seconds');
    expect(humanDuration(70_000)).toBe('About a minute');
    expect(humanDuration(3 * 3600_000)).toBe('3 hours');
    expect(ago('2026-01-01T00:00:00Z', Date.parse('2026-01-01T00:05:00Z'))).toBe('5 minutes ago');
  });

  it('renders the supported template subset', () => {
    const v = { State: { ExitCode: 3, OOMKilled: false }, Env: ['A=1', 'B=2'], Labels: { k: 'v' } };
    expect(renderTemplate('{{.State.ExitCode}} {{ .State.OOMKilled }}', v)).toBe('3 false');
    expect(renderTemplate('{{json .Env}}', v)).toBe('["A=1","B=2"]');
    expect(renderTemplate('{{.Env}} {{.Labels}}', v)).toBe('[A=1 B=2] map[k:v]');
    expect(() => renderTemplate('{{.Nope}}', v)).toThrow(refusal('ERR_INVALID_ARGUMENT', "can't evaluate field Nope"));
    expect(() => renderTemplate('{{.Env | len}}', v)).toThrow(refusal('ERR_INVALID_ARGUMENT', 'engine-lite supports only'));
  });

  it('renders index, if, with and range blocks as Go does', () => {
    const v = { Networks: { b: { IPAddress: '10.0.0.2' }, a: { IPAddress: '10.0.1.2' } }, Env: ['A=1', 'B=2'], Empty: [] };
    expect(renderTemplate('{{with index .Networks "b"}}{{.IPAddress}}{{end}}', v)).toBe('10.0.0.2');
    expect(renderTemplate('{{with index .Networks "zz"}}{{.IPAddress}}{{else}}none{{end}}', v)).toBe('none');
    expect(renderTemplate('{{range .Networks}}{{.IPAddress}} {{end}}', v)).toBe('10.0.1.2 10.0.0.2 ');
    expect(renderTemplate('{{index .Env 1}} {{if .Empty}}yes{{else}}no{{end}}', v)).toBe('B=2 no');
    expect(renderTemplate('{{range .Env -}}\n  [{{.}}]\n{{- end}}', v)).toBe('[A=1][B=2]');
    expect(() => renderTemplate('{{json (index .Env 0)}}', v)).toThrow(refusal('ERR_INVALID_ARGUMENT', 'engine-lite supports only'));
    expect(() => renderTemplate('{{if .Env}}x', v)).toThrow(refusal('ERR_INVALID_ARGUMENT', 'unexpected EOF'));
  });
});
