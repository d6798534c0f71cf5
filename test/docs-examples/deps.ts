/**
 * The docs' `fetchUser` / `fetchPosts` deps, counting their calls. Both return Results: as in the
 * reference, a step whose function returns a plain value fails.
 */
import { ok, type WorkflowContext } from "effect-resume/workflow"

export const makeDeps = () => {
  const calls = { fetchUser: 0, fetchPosts: 0 }
  const fetchUser = async (id: string) => {
    calls.fetchUser++
    return ok({ id, name: `user ${id}` })
  }
  const fetchPosts = async (userId: string) => {
    calls.fetchPosts++
    return ok([{ id: `p1`, userId, title: "hello" }])
  }
  return { calls, deps: { fetchUser, fetchPosts } }
}

export const expectedResult = { user: { id: "1", name: "user 1" }, posts: [{ id: "p1", userId: "1", title: "hello" }] }

export type Deps = ReturnType<typeof makeDeps>["deps"]

/** The docs' `myWorkflowFn`: fetch a user, then their posts. */
export const myWorkflowFn = async ({ deps, step }: WorkflowContext<Deps>) => {
  const user = await step("fetchUser", () => deps.fetchUser("1"), { key: "user:1" })
  const posts = await step("fetchPosts", () => deps.fetchPosts(user.id), { key: `posts:${user.id}` })
  return { user, posts }
}
