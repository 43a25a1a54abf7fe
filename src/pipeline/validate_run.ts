/**
 * `dsync run --validate`: every selected pipeline's source and targets opened and described, its
 * field options resolved against them; nothing read beyond that, nothing written.
 * @module
 */
import { UsageError } from "../model/errors.ts";
import { resolveFields } from "../engine/fields.ts";
import type { Dataset, DatasetInfo, OpenOptions } from "../adapter_kit/importer.ts";
import { syncOptions } from "../app/sync.ts";
import { checkLoadTarget, loadOptions } from "../app/modes.ts";
import type { Config, PipelineConfig } from "./config_types.ts";
import {
  fieldOptions,
  isStdout,
  openSource,
  openTarget,
  pipelineError,
  report,
  settingsOf,
} from "./open.ts";

/**
 * `--validate`: every selected pipeline's source and target opened and described, its field
 * options resolved against them; nothing read beyond that, nothing written.
 */
/** Every datastore that handlers run statements on, opened (connected) and closed. */
async function validateHandlers(selected: PipelineConfig[]): Promise<number> {
  let code = 0;
  const checked = new Set<string>();
  for (const pipeline of selected) {
    for (const handler of pipeline.handlers) {
      if (!handler.sql || checked.has(handler.sql.datastore.name)) continue;
      const { datastore } = handler.sql;
      checked.add(datastore.name);
      try {
        const runner = await datastore.importer.openStatements!(datastore.locator ?? "", {
          options: datastore.options,
        });
        await runner.close();
        console.log(`ok    ${pipeline.name}: ${handler.name} runs on ${runner.label}`);
      } catch (error) {
        const failure = pipelineError(pipeline, error);
        console.log(`FAIL  ${pipeline.name}: ${handler.name}`);
        report(failure);
        code ||= failure.exitCode;
      }
    }
  }
  return code;
}

export async function validatePipelines(
  config: Config,
  selected: PipelineConfig[],
  options: { overrides: OpenOptions },
): Promise<number> {
  let code = 0;
  for (const pipeline of selected) {
    const settings = settingsOf(pipeline, config, options);
    try {
      const upstream = config.pipelines.find((p) =>
        pipeline.dependsOn.includes(p.name) &&
        p.targets.some((t) =>
          t.datastore === pipeline.source.datastore &&
          (t.table ?? p.name) === (pipeline.source.table ?? pipeline.name)
        )
      );
      let source: Dataset;
      let sourceInfo: DatasetInfo;
      try {
        source = await openSource(pipeline, settings);
        sourceInfo = await source.describe();
      } catch (error) {
        if (!upstream) throw error;
        console.log(
          `ok    ${pipeline.name}: source not checked: pipeline '${upstream.name}' writes it first`,
        );
        continue;
      }
      try {
        for (const name of [pipeline.watermark, pipeline.softDelete]) {
          if (name !== undefined && !sourceInfo.fields.some((f) => f.name === name)) {
            throw new UsageError(`${source.label} has no field '${name}'`);
          }
        }
        for (const targetConfig of pipeline.targets) {
          const sync = syncOptions(settings, isStdout(targetConfig));
          const target = await openTarget(pipeline, settings, targetConfig);
          try {
            const targetInfo = await target.describe();
            checkLoadTarget(target, loadOptions(settings), sync.format, sync.partition);
            resolveFields(
              { ...sourceInfo, label: source.label },
              { ...targetInfo, label: target.label },
              fieldOptions(sync),
            );
            console.log(
              `ok    ${pipeline.name}: ${source.label} (${sourceInfo.fields.length} fields) → ${target.label} (${
                targetInfo.exists
                  ? `${targetInfo.fields.length} fields`
                  : "created on the first run"
              })`,
            );
          } finally {
            await target.close();
          }
        }
      } finally {
        await source.close();
      }
    } catch (error) {
      const failure = pipelineError(pipeline, error);
      console.log(`FAIL  ${pipeline.name}`);
      report(failure);
      code ||= failure.exitCode;
    }
  }
  const handlers = await validateHandlers(selected);
  code ||= handlers;
  if (!code) {
    console.log(
      `${config.file}: ${selected.length} pipeline${selected.length === 1 ? "" : "s"} ok`,
    );
  }
  return code;
}
