import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import * as ts from 'typescript';

// The construct library's public surface (lib/index.ts): every name it exports
// carries JSDoc where it is declared, and the one-call helper's props document
// their defaults. Read syntactically (no type checker): fast, and it sees what
// the emitted .d.ts carries, since declarations keep their comments.

const LIB = path.join(__dirname, '../../lib');

function parse(file: string): ts.SourceFile {
  return ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022, true);
}

function hasJsDoc(node: ts.Node): boolean {
  return ts.getJSDocCommentsAndTags(node).some((d) => ts.isJSDoc(d) && (d.comment !== undefined || (d.tags?.length ?? 0) > 0));
}

function nameOf(statement: ts.Statement): string[] {
  if (ts.isVariableStatement(statement)) return statement.declarationList.declarations.map((d) => d.name.getText());
  const named = statement as ts.Statement & { name?: ts.Identifier };
  return named.name ? [named.name.text] : [];
}

function isExported(statement: ts.Statement): boolean {
  return ts.canHaveModifiers(statement) && (ts.getModifiers(statement) ?? []).some((m) => m.kind === ts.SyntaxKind.ExportKeyword);
}

/** The top-level declaration of `name` in `file`, or undefined. */
function declarationIn(file: ts.SourceFile, name: string): ts.Statement | undefined {
  return file.statements.find((s) => isExported(s) && nameOf(s).includes(name));
}

interface PublicName {
  readonly name: string;
  readonly documented: boolean;
  readonly where: string;
}

/** Every name lib/index.ts exports, with whether its declaration carries JSDoc. */
function publicNames(): PublicName[] {
  const index = parse(path.join(LIB, 'index.ts'));
  const out: PublicName[] = [];
  for (const statement of index.statements) {
    if (ts.isExportDeclaration(statement)) {
      expect(statement.exportClause).toBeDefined(); // no `export *`: the surface is listed name by name
      const from = (statement.moduleSpecifier as ts.StringLiteral).text;
      const source = parse(path.join(LIB, `${from}.ts`));
      for (const element of (statement.exportClause as ts.NamedExports).elements) {
        const original = (element.propertyName ?? element.name).text;
        const declaration = declarationIn(source, original);
        out.push({ name: element.name.text, documented: declaration !== undefined && hasJsDoc(declaration), where: `lib/${from}.ts` });
      }
    } else if (isExported(statement)) {
      for (const name of nameOf(statement)) out.push({ name, documented: hasJsDoc(statement), where: 'lib/index.ts' });
    }
  }
  return out;
}

test('every name lib/index.ts exports has JSDoc', () => {
  const names = publicNames();
  expect(names.length).toBeGreaterThan(40);
  expect(names.filter((n) => !n.documented).map((n) => `${n.name} (${n.where})`)).toEqual([]);
});

test('the public surface holds the constructs a user composes, and not the example wiring', () => {
  const names = publicNames().map((n) => n.name);
  for (const name of [
    'RotorRotation',
    'addRotorRotation',
    'RotationFunction',
    'DatabaseRotation',
    'GroupRotationSchedule',
    'RotationMonitoring',
    'SecurityAlertRotation',
    'TriggerDeadLetterQueue',
    'TriggerFunction',
    'RotorStack',
    'RotorConfig',
    'parseRotorConfig',
    'RotorRotationProps',
    'RotationFunctionProps',
    'DatabaseRotationProps',
  ]) {
    expect(names).toContain(name);
  }
  expect(names).not.toContain('ExampleDatabase');
  expect(names).not.toContain('rotorFunctionCode');
  expect(new Set(names).size).toBe(names.length);
});

test('the helper props document each member, with @default on every optional one', () => {
  const file = parse(path.join(LIB, 'rotor-rotation.ts'));
  const problems: string[] = [];
  for (const statement of file.statements) {
    if (!ts.isInterfaceDeclaration(statement)) continue;
    for (const member of statement.members) {
      if (!ts.isPropertySignature(member)) continue;
      const where = `${statement.name.text}.${member.name.getText()}`;
      const docs = ts.getJSDocCommentsAndTags(member).filter(ts.isJSDoc);
      if (docs.length === 0) problems.push(`${where}: no JSDoc`);
      else if (member.questionToken && !docs.some((d) => d.tags?.some((t) => t.tagName.text === 'default'))) problems.push(`${where}: optional without @default`);
    }
  }
  expect(problems).toEqual([]);
});
