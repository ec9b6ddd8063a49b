# language: zh-CN
功能: UC-03 修改账户资料后仍以原口令访问（Accounts：Change a user's metadata）

  场景: 修改昵称后，账户仍可以原口令访问
    假如 以测试账户“carol”登录
    当 调用操作“update_account”，字段为：
      | 字段     | 值         |
      | nickname | carol-lab  |
    那么 操作成功
    当 调用操作“account”
    那么 操作成功
    而且 应答字段“id”为“<carol.用户名>”
