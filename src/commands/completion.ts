import type { Command } from 'commander'
import type { CliContext } from './context.js'

export function register(program: Command, ctx: CliContext): void {
  program
    .command('completion')
    .description(
      'Print a script that completes commands, options, provider names, --format values and question names in bash, zsh or fish.',
    )
    .addArgument(
      program
        .createArgument('<shell>', 'the shell to complete in')
        .choices(['bash', 'zsh', 'fish']),
    )
    .addHelpText(
      'after',
      `
Examples:
  $ eval "$(rc2 completion bash)"                          # in ~/.bashrc
  $ rc2 completion zsh > "\${fpath[1]}/_rc2"                # then compinit
  $ rc2 completion fish > ~/.config/fish/completions/rc2.fish`,
    )
    .action(async (shell: 'bash' | 'zsh' | 'fish') => {
      const [{ programSpec }, { renderCompletion }] = await Promise.all([
        import('./program-spec.js'),
        import('../output/completion.js'),
      ])
      const spec = programSpec(program, program.version() ?? '')
      ctx.out.result(renderCompletion(spec, shell).trimEnd())
    })
}
