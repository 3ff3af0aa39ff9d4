import { expect } from 'chai';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  Application,
  type Comment,
  type DeclarationReflection,
  IntrinsicType,
  LiteralType,
  Logger,
  LogLevel,
  type ProjectReflection,
  type Reflection,
  ReferenceType,
  ReflectionKind,
  ReflectionType,
  type SignatureReflection,
  type SomeType,
  TSConfigReader,
  TypeDocReader,
} from 'typedoc';
import ts from 'typescript';

// Beyond TypeDoc's own validation (which only asks for *some* comment), this holds the public API
// to the project's rule: every function and method has a summary, each parameter, the return
// value and a runnable example; every option a description, and every setting its default.

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

interface Manifest {
  name: string;
  exports: Record<string, string | { types: string }>;
}

/** Keeps TypeDoc's warnings and errors instead of printing them. */
class Collected extends Logger {
  readonly messages: string[] = [];

  override log(message: string, level: LogLevel): void {
    super.log(message, level);
    if (level >= LogLevel.Warn) this.messages.push(message);
  }
}

const textOf = (parts: readonly { text: string }[] | undefined): string =>
  (parts ?? [])
    .map((part) => part.text)
    .join('')
    .trim();
const summaryOf = (comment: Comment | undefined): string => textOf(comment?.summary);
const hasTag = (comment: Comment | undefined, tag: `@${string}`): boolean =>
  comment?.blockTags.some((block) => block.tag === tag) ?? false;

/** Declared in the package's own source, not inherited from node or the standard library. */
function ours(reflection: Reflection): boolean {
  const file = reflection.project.getSymbolIdFromReflection(reflection)?.fileName;
  if (file === undefined) return reflection.parent !== undefined && ours(reflection.parent);
  return file.startsWith(`${root}/src/`);
}

/** What a signature lacks: a summary, a comment per parameter, `@returns` (unless void), `@example`. */
function signatureGaps(
  signature: SignatureReflection,
  parent: Comment | undefined,
  needs: { summary: boolean; returns: boolean; example: boolean },
): string[] {
  const gaps: string[] = [];
  const { comment } = signature;
  if (needs.summary && summaryOf(comment) === '' && summaryOf(parent) === '') gaps.push('a summary');
  for (const parameter of signature.parameters ?? []) {
    if (summaryOf(parameter.comment) === '') gaps.push(`@param ${parameter.name}`);
  }
  const returnsVoid = signature.type instanceof IntrinsicType && signature.type.name === 'void';
  if (needs.returns && !returnsVoid && !hasTag(comment, '@returns')) gaps.push('@returns');
  if (needs.example && !hasTag(comment, '@example') && !hasTag(parent, '@example')) gaps.push('@example');
  return gaps;
}

const parameterList = (signature: SignatureReflection): string =>
  `(${(signature.parameters ?? []).map((p) => p.name).join(', ')})`;

/** Every reflection of a kind that the package declares (re-exports are references, not declarations). */
const declared = (project: ProjectReflection, kind: ReflectionKind): DeclarationReflection[] =>
  project.getReflectionsByKind(kind).filter((r): r is DeclarationReflection => r.isDeclaration() && ours(r));

/** The properties of an interface or of an object type alias. */
const propertiesOf = (type: DeclarationReflection): DeclarationReflection[] =>
  (type.type instanceof ReflectionType ? type.type.declaration.children : type.children) ?? [];

/** The package's own types a type refers to, through unions, intersections and arrays. */
function referencedBy(type: SomeType | undefined): DeclarationReflection[] {
  if (type === undefined) return [];
  if (type instanceof ReferenceType) {
    const target = type.reflection;
    return target?.isDeclaration() === true && ours(target) ? [target] : [];
  }
  if (type.type === 'union' || type.type === 'intersection') return type.types.flatMap(referencedBy);
  if (type.type === 'array') return referencedBy(type.elementType);
  if (type.type === 'typeOperator') return referencedBy(type.target);
  return [];
}

/**
 * A setting: an option that always behaves some way when left out, so the reader must be told
 * which. A boolean, a number, a literal, or a union holding one of those.
 */
function isSetting(type: SomeType | undefined): boolean {
  if (type === undefined) return false;
  if (type instanceof IntrinsicType) return type.name === 'boolean' || type.name === 'number';
  if (type instanceof LiteralType) return type.value !== null;
  if (type.type === 'union') return type.types.some(isSetting);
  if (type instanceof ReferenceType) {
    const target = type.reflection;
    return target?.isDeclaration() === true && target.kindOf(ReflectionKind.TypeAlias) && isSetting(target.type);
  }
  return false;
}

/** Fails with one offender per line, so that one run names every gap. */
function report(offenders: string[], what: string): void {
  expect(offenders, `${what}:\n  ${offenders.join('\n  ')}\n`).to.be.empty;
}

describe('the API documentation (npm run docs)', function () {
  this.timeout(60_000);
  let manifest: Manifest;
  let project: ProjectReflection;
  let messages: string[];

  before(async () => {
    manifest = JSON.parse(await readFile(path.join(root, 'package.json'), 'utf8')) as Manifest;
    // The same conversion and validation as `npm run docs`, without writing the site.
    const app = await Application.bootstrapWithPlugins({ options: path.join(root, 'typedoc.json') }, [
      new TypeDocReader(),
      new TSConfigReader(),
    ]);
    const logger = new Collected();
    app.logger = logger;
    const converted = await app.convert();
    if (converted === undefined) {
      throw new Error(`TypeDoc could not convert the package:\n${logger.messages.join('\n')}`);
    }
    app.validate(converted);
    project = converted;
    messages = logger.messages;
  });

  it('documents each entry point of the exports map, named as users import it', async () => {
    const config = JSON.parse(await readFile(path.join(root, 'typedoc.json'), 'utf8')) as { entryPoints: string[] };
    const subpaths = Object.entries(manifest.exports).flatMap(([subpath, target]) =>
      typeof target === 'object' ? [{ subpath, types: target.types }] : [],
    );
    const sources = subpaths.map(({ types }) => types.replace(/^\.\/dist\//, 'src/').replace(/\.d\.ts$/, '.ts'));
    expect([...config.entryPoints].sort()).to.deep.equal(sources.sort());
    const names = subpaths.map(({ subpath }) => path.posix.join(manifest.name, subpath));
    expect(project.children?.map((module) => module.name).sort()).to.deep.equal(names.sort());
  });

  it("passes TypeDoc's own validation: every export documented, every link resolved, nothing referenced left out", () => {
    report(messages, 'TypeDoc warned');
  });

  it('gives every exported function a summary, each parameter, the return value and an example', () => {
    const offenders: string[] = [];
    for (const fn of declared(project, ReflectionKind.Function)) {
      for (const signature of fn.signatures ?? []) {
        const gaps = signatureGaps(signature, fn.comment, { summary: true, returns: true, example: true });
        if (gaps.length > 0) offenders.push(`${fn.getFullName()}${parameterList(signature)}: ${gaps.join(', ')}`);
      }
    }
    for (const constant of declared(project, ReflectionKind.Variable)) {
      const gaps = [
        ...(summaryOf(constant.comment) === '' ? ['a summary'] : []),
        ...(hasTag(constant.comment, '@example') ? [] : ['@example']),
      ];
      if (gaps.length > 0) offenders.push(`${constant.getFullName()}: ${gaps.join(', ')}`);
    }
    report(offenders, 'functions and constants missing docs');
  });

  it('gives every exported class an example, and its constructor parameters and public methods their docs', () => {
    const offenders: string[] = [];
    for (const cls of declared(project, ReflectionKind.Class)) {
      const gaps: string[] = [];
      if (summaryOf(cls.comment) === '') gaps.push('a summary');
      if (!hasTag(cls.comment, '@example')) gaps.push('@example');
      for (const member of cls.children ?? []) {
        const isConstructor = member.kindOf(ReflectionKind.Constructor);
        if (!isConstructor && !member.kindOf(ReflectionKind.Method)) continue;
        // A method a class inherits is checked where it is declared; a constructor is each class's own.
        if (!ours(member) || (!isConstructor && member.inheritedFrom !== undefined)) continue;
        const needs = { summary: !isConstructor, returns: !isConstructor, example: !isConstructor };
        for (const signature of member.signatures ?? []) {
          const missing = signatureGaps(signature, isConstructor ? undefined : member.comment, needs);
          gaps.push(...missing.map((gap) => `${isConstructor ? 'constructor' : member.name}: ${gap}`));
        }
      }
      if (gaps.length > 0) offenders.push(`${cls.getFullName()}: ${gaps.join(', ')}`);
    }
    report(offenders, 'classes missing docs');
  });

  it('gives every callable type and interface method a summary, each parameter and the return value', () => {
    const offenders: string[] = [];
    const types = [...declared(project, ReflectionKind.Interface), ...declared(project, ReflectionKind.TypeAlias)];
    for (const type of types) {
      const calls = type.type instanceof ReflectionType ? type.type.declaration.signatures : type.signatures;
      for (const signature of calls ?? []) {
        const gaps = signatureGaps(signature, type.comment, { summary: true, returns: true, example: false });
        if (gaps.length > 0) offenders.push(`${type.getFullName()}${parameterList(signature)}: ${gaps.join(', ')}`);
      }
      for (const member of type.children ?? []) {
        if (!member.kindOf(ReflectionKind.Method) || member.inheritedFrom !== undefined || !ours(member)) continue;
        for (const signature of member.signatures ?? []) {
          const gaps = signatureGaps(signature, member.comment, { summary: true, returns: true, example: false });
          if (gaps.length > 0) offenders.push(`${type.getFullName()}.${member.name}: ${gaps.join(', ')}`);
        }
      }
    }
    report(offenders, 'callable types and interface methods missing docs');
  });

  it('describes every option, and gives each setting its @default', () => {
    // The options types: every exported *Options type, and the package's types its properties take.
    const queue = [
      ...declared(project, ReflectionKind.Interface),
      ...declared(project, ReflectionKind.TypeAlias),
    ].filter((type) => type.name.endsWith('Options'));
    const optionTypes = new Set<DeclarationReflection>();
    for (let type = queue.pop(); type !== undefined; type = queue.pop()) {
      if (optionTypes.has(type)) continue;
      optionTypes.add(type);
      for (const property of propertiesOf(type)) queue.push(...referencedBy(property.type));
    }
    const offenders: string[] = [];
    for (const type of optionTypes) {
      for (const property of propertiesOf(type)) {
        // An inherited option is checked on the type that declares it.
        if (!property.kindOf(ReflectionKind.Property) || property.inheritedFrom !== undefined || !ours(property)) {
          continue;
        }
        const name = `${type.getFullName()}.${property.name}`;
        const description = summaryOf(property.comment);
        if (description === '') offenders.push(`${name}: a description`);
        const defaulted = hasTag(property.comment, '@default') || hasTag(property.comment, '@defaultValue');
        const hasDefault = isSetting(property.type) || /\bdefault/i.test(description);
        if (property.flags.isOptional && hasDefault && !defaulted) offenders.push(`${name}: @default`);
      }
    }
    report(offenders, 'options missing docs');
  });

  it('writes every example as TypeScript that parses and imports the package by its public names', () => {
    const entryPoints = new Set(
      Object.keys(manifest.exports).map((subpath) => path.posix.join(manifest.name, subpath)),
    );
    const offenders = new Set<string>();
    for (const reflection of Object.values(project.reflections)) {
      const examples = reflection.comment?.getTags('@example') ?? [];
      for (const example of examples) {
        const where = reflection.getFullName();
        const blocks = example.content.filter((part) => part.kind === 'code' && part.text.startsWith('```'));
        if (blocks.length === 0) offenders.add(`${where}: an example without a fenced code block`);
        for (const block of blocks) {
          const code = block.text.replace(/^```\w*\n?/, '').replace(/```$/, '');
          const { diagnostics = [] } = ts.transpileModule(code, {
            reportDiagnostics: true,
            compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
          });
          for (const diagnostic of diagnostics) {
            offenders.add(`${where}: ${ts.flattenDiagnosticMessageText(diagnostic.messageText, ' ')}`);
          }
          for (const [, specifier] of code.matchAll(/\bfrom\s+'([^']+)'/g)) {
            const internal =
              specifier!.startsWith('.') || specifier!.includes('/src/') || specifier!.includes('/dist/');
            const unknown = specifier!.startsWith(`${manifest.name}/`) && !entryPoints.has(specifier!);
            if (internal || unknown) offenders.add(`${where}: imports '${specifier!}', not a public entry point`);
          }
        }
      }
    }
    report([...offenders], 'examples that would not run');
  });
});
